"""Sign up, sign in, sign out: Flask-Login sessions, Flask-WTF forms."""

import logging

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import login_required, login_user, logout_user
from sqlalchemy import select

from .extensions import db, login_manager, privacy
from .forms import SignInForm, SignUpForm
from .models import User

bp = Blueprint("auth", __name__)
log = logging.getLogger(__name__)


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    return db.session.get(User, int(user_id))


@bp.route("/signup", methods=["GET", "POST"])
def signup():
    form = SignUpForm()
    if form.validate_on_submit():
        email = form.email.data.strip().lower()
        age = privacy.check_age(confirmed=form.over_14.data)  # the policy's [children] rule
        if not age.allowed:
            form.over_14.errors.append(age.message("ko"))
            return render_template("auth/signup.html", form=form), 400
        if db.session.scalar(select(User.id).where(User.email == email)) is not None:
            form.email.errors.append("이미 가입한 이메일입니다. / This email is already a member.")
            return render_template("auth/signup.html", form=form), 400
        user = User(name=form.name.data.strip(), email=email)
        user.set_password(form.password.data)
        db.session.add(user)
        db.session.commit()
        log.info("new member %s signed up", email)  # RedactingFilter writes [email]
        login_user(user)
        return redirect(url_for("notes.index"))
    return render_template("auth/signup.html", form=form), 400 if form.errors else 200


@bp.route("/signin", methods=["GET", "POST"])
def signin():
    form = SignInForm()
    if form.validate_on_submit():
        email = form.email.data.strip().lower()
        user = db.session.scalar(select(User).where(User.email == email))
        if user is None or not user.check_password(form.password.data):
            log.warning("failed sign-in for %s", email)
            flash("이메일 또는 비밀번호가 맞지 않습니다. / Wrong email or password.")
            return render_template("auth/signin.html", form=form), 400
        login_user(user, remember=form.remember.data)
        return redirect(url_for("notes.index"))
    return render_template("auth/signin.html", form=form), 400 if form.errors else 200


@bp.post("/signout")
@login_required
def signout():
    logout_user()
    return redirect(url_for("notes.index"))
