"""The member's pages: their notes, the Pro plan, and "My privacy"."""

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from .extensions import db, privacy
from .forms import NoteForm, UpgradeForm
from .models import Note, Payment

bp = Blueprint("notes", __name__)
PRO_PLAN_PRICE = 4900  # won a month


@bp.get("/")
def index():
    if not current_user.is_authenticated:
        return render_template("notes/welcome.html")
    notes = db.session.scalars(
        select(Note).where(Note.user_id == current_user.id).order_by(Note.created_at.desc(), Note.id.desc())
    ).all()
    return render_template("notes/index.html", notes=notes, form=NoteForm())


@bp.post("/notes")
@login_required
def add_note():
    form = NoteForm()
    if not form.validate_on_submit():
        return render_template("notes/index.html", notes=[], form=form), 400
    db.session.add(Note(user_id=current_user.id, title=form.title.data, body=form.body.data or ""))
    db.session.commit()
    return redirect(url_for("notes.index"))


@bp.post("/upgrade")
@login_required
def upgrade():
    if not UpgradeForm().validate_on_submit():
        abort(400)
    db.session.add(Payment(user_id=current_user.id, plan="pro", amount=PRO_PLAN_PRICE))
    db.session.commit()
    # Policy section 3: the card items went to the payment agent; record the handover.
    privacy.record_provision(str(current_user.id), recipient="payment_agent", items=["card_number", "card_expiry"])
    flash("Pro 요금제를 시작했습니다. / Your Pro plan has started.")
    return redirect(url_for("notes.account"))


@bp.get("/account")
@login_required
def account():
    payments = db.session.scalars(select(Payment).where(Payment.user_id == current_user.id)).all()
    return render_template(
        "notes/account.html",
        consent=privacy.current_decision(),
        purposes=privacy.policy.consent_purposes,
        payments=payments,
        upgrade_form=UpgradeForm(),
    )
