"""The demo app factory: routes of a Casenote-like site, wired to the extension."""

from __future__ import annotations

import os
from typing import Any

import click
from flask import Flask, abort, flash, has_request_context, redirect, render_template, request, session, url_for
from flask_wtf.csrf import CSRFProtect, generate_csrf
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import select

from flask_casenote_privacy import Privacy
from flask_casenote_privacy.consent import ledger_grants

from .gateway import gateway
from .models import CASES, Case, Payment, Search, User, db

HERE = os.path.dirname(os.path.abspath(__file__))
PLANS = {"monthly": 9900, "yearly": 99000}
TEXT = {
    "search": ("판례 검색", "Search cases"),
    "signup": ("회원가입", "Sign up"),
    "login": ("로그인", "Sign in"),
    "logout": ("로그아웃", "Sign out"),
    "plans": ("유료 플랜", "Paid plans"),
    "my_privacy": ("내 개인정보", "My privacy"),
    "officer": ("보호책임자", "Officer"),
    "policy": ("개인정보 처리방침", "Privacy policy"),
}


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    app = Flask(__name__, instance_path=os.path.join(HERE, "instance"))
    app.config.update(
        # A real deployment reads SECRET_KEY from its environment.
        SECRET_KEY=os.environ.get("SECRET_KEY", "casenote-demo-only-not-a-secret"),
        SQLALCHEMY_DATABASE_URI=os.environ.get(
            "DEMO_DATABASE_URI", "sqlite:///" + os.path.join(app.instance_path, "demo.sqlite")
        ),
        PRIVACY_AUTO_UPGRADE=True,
        PRIVACY_CAPTURE_COOKIES=["demo_visitor"],
        PRIVACY_MAIL_SERVER=os.environ.get("DEMO_SMTP_HOST"),
        PRIVACY_MAIL_PORT=int(os.environ.get("DEMO_SMTP_PORT", "25")),
        PRIVACY_MAIL_SENDER="privacy@casenote.kr",
        # Links in mail point here, never at whatever Host header a request carried.
        PRIVACY_EXTERNAL_URL=os.environ.get("DEMO_EXTERNAL_URL", "http://127.0.0.1:5000"),
        DEMO_OFFICER_EMAIL=os.environ.get("DEMO_OFFICER_EMAIL", "contact@casenote.kr"),
    )
    for key in ("PRIVACY_DATABASE_URI", "PRIVACY_ARCHIVE_DATABASE_URI", "PRIVACY_SPOOL_DIR"):
        if os.environ.get(key):
            app.config[key] = os.environ[key]
    app.config.update(test_config or {})
    os.makedirs(app.instance_path, exist_ok=True)

    CSRFProtect(app)  # the demo's own forms; the privacy routes check the same token themselves
    db.init_app(app)
    with app.app_context():
        db.create_all()
        if db.session.scalar(select(Case.id).limit(1)) is None:
            db.session.add_all(Case(court=c, number=n, title=t, summary=s) for c, n, t, s in CASES)
            db.session.commit()

    privacy = Privacy(app)
    # Host data the withdrawal, access and archive reach (parents first: erased last).
    privacy.register_model(User, subject="id", items={"name": "name", "email": "email"})
    # Searches are usage records: the policy keeps them 3 months (access_log class), so
    # `flask privacy purge` destroys each one 3 months after searched_at, member or not.
    privacy.register_model(Search, subject="user_id", items={"usage_record": "query"}, occurred_at="searched_at")
    # A payment record (전자상거래법) is what was paid, for what, when, under which approval.
    privacy.register_model(
        Payment,
        subject="user_id",
        retention="payment_record",
        occurred_at="paid_at",
        export=["amount", "plan", "approval_no"],
    )

    @privacy.subject_loader
    def subject() -> str | None:
        uid = session.get("uid")
        return None if uid is None else str(uid)

    @privacy.officer_loader
    def officer() -> str | None:
        user = current_user()
        return user.email if user is not None and user.email == app.config["DEMO_OFFICER_EMAIL"] else None

    app.register_blueprint(gateway, url_prefix="/nicepay")
    register_routes(app, privacy)
    register_cli(app)
    return app


def current_user() -> User | None:
    uid = session.get("uid")
    return None if uid is None else db.session.get(User, uid)


def lang() -> str:
    return session.get("lang", "ko")


def register_routes(app: Flask, privacy: Privacy) -> None:
    @app.before_request
    def pick_language() -> None:
        if request.args.get("lang") in ("ko", "en"):
            session["lang"] = request.args["lang"]

    @app.context_processor
    def helpers() -> dict[str, Any]:
        if not has_request_context():
            return {}  # `flask privacy policy show` renders the policy outside any request

        def t(key_or_ko: str, en: str | None = None) -> str:
            if en is None:
                ko, en_text = TEXT[key_or_ko]
                return ko if lang() == "ko" else en_text
            return key_or_ko if lang() == "ko" else en

        return {
            "t": t,
            "lang": lang(),
            "user": current_user(),
            "csrf_token": generate_csrf,
            "show_banner": needs_banner(privacy),
            # The banner asks each optional purpose on its own (PIPA §22①), from the policy file.
            "banner_purposes": [
                (p, ", ".join(privacy.policy.item(i).label.get(lang()) for i in p.items))
                for p in privacy.policy.consent_purposes
            ],
            "gpc": request.headers.get("Sec-GPC") == "1",
            "is_officer": privacy.services.is_officer(),
            "min_age": (privacy.policy.children.minimum_age if privacy.policy.children else 14),
        }

    @app.get("/")
    def index() -> str:
        return render_template("index.html", cases=db.session.scalars(select(Case).limit(5)).all())

    @app.route("/signup", methods=["GET", "POST"])
    def signup() -> Any:
        if request.method == "POST":
            name = request.form.get("name", "").strip()
            email = request.form.get("email", "").strip().lower()
            if not name or "@" not in email:
                flash("이름과 이메일을 입력하세요. / Enter a name and an email.")
                return render_template("signup.html"), 400
            if db.session.scalar(select(User).where(User.email == email)):
                flash("이미 가입한 이메일입니다. / This email is already a member.")
                return render_template("signup.html"), 400
            # 개인정보 보호법 제22조의2: the policy's [children] rule (Casenote: 14, no guardian consent).
            age = privacy.check_age(confirmed=request.form.get("age_14") == "yes")
            if not age.allowed:
                flash(age.message(lang()))
                return render_template("signup.html"), 400
            user = User(name=name, email=email)
            db.session.add(user)
            db.session.commit()
            session["uid"] = user.id
            return redirect(url_for("index"))
        return render_template("signup.html")

    @app.route("/login", methods=["GET", "POST"])
    def login() -> Any:
        if request.method == "POST":
            # Demo only: the policy collects no password, so the demo signs in by email.
            user = db.session.scalar(select(User).where(User.email == request.form.get("email", "").strip().lower()))
            if user is None:
                flash("회원이 아닙니다. / Not a member.")
                return render_template("login.html"), 400
            session["uid"] = user.id
            return redirect(url_for("index"))
        return render_template("login.html")

    @app.post("/logout")
    def logout() -> Any:
        session.pop("uid", None)
        return redirect(url_for("index"))

    @app.get("/search")
    def search() -> str:
        q = request.args.get("q", "").strip()
        results = []
        if q:
            like = f"%{q}%"
            results = db.session.scalars(
                select(Case).where(Case.title.like(like) | Case.summary.like(like) | Case.number.like(like))
            ).all()
            user = current_user()
            if user is not None:
                db.session.add(Search(user_id=user.id, query=q[:200]))
                db.session.commit()
        return render_template("search.html", q=q, results=results)

    @app.get("/cases/<int:case_id>")
    def case(case_id: int) -> str:
        item = db.session.get(Case, case_id) or abort(404)
        return render_template("case.html", case=item)

    @app.get("/plans")
    def plans() -> str:
        return render_template("plans.html", plans=PLANS)

    @app.get("/checkout/<plan>")
    def checkout(plan: str) -> Any:
        if plan not in PLANS:
            abort(404)
        if current_user() is None:
            return redirect(url_for("login"))
        # The card form posts straight to the payment agent: card data never reaches this site.
        return render_template("checkout.html", plan=plan, amount=PLANS[plan])

    @app.get("/checkout/complete")
    def checkout_complete() -> Any:
        user = current_user() or abort(401)
        try:
            approval = URLSafeSerializer(app.config["SECRET_KEY"], salt="demo.nicepay").loads(request.args.get("r", ""))
        except BadSignature:
            abort(400)
        if approval["uid"] != user.id or approval["plan"] not in PLANS:
            abort(400)
        if db.session.scalar(select(Payment).where(Payment.approval_no == approval["approval_no"])) is None:
            db.session.add(
                Payment(
                    user_id=user.id,
                    amount=PLANS[approval["plan"]],
                    plan=approval["plan"],
                    approval_no=approval["approval_no"],
                )
            )
            user.plan = approval["plan"]
            db.session.commit()
            # Policy section 3: the five items went to NICE Payments; record the handover.
            privacy.record_provision(str(user.id), recipient="nicepay", items=approval["items"])
        return render_template("paid.html", approval=approval, amount=PLANS[approval["plan"]])

    @app.get("/me/privacy")
    def my_privacy() -> Any:
        user = current_user()
        if user is None:
            return redirect(url_for("login"))
        state = privacy.current_decision()
        payments = db.session.scalars(select(Payment).where(Payment.user_id == user.id)).all()
        policy = privacy.policy
        return render_template(
            "my_privacy.html",
            state=state,
            purposes=policy.consent_purposes,
            payments=payments,
            payment_class=policy.retention_class("payment_record"),
        )

    @app.after_request
    def leave_when_gone(response: Any) -> Any:
        # After leaving membership the user row is gone: sign the browser out.
        if (
            session.get("uid") is not None
            and request.endpoint not in ("privacy.request_status", "privacy.withdraw", "static")
            and current_user() is None
        ):
            session.pop("uid", None)
        return response


def needs_banner(privacy: Privacy) -> bool:
    """Show the consent banner until the visitor (or member) has decided once."""
    if request.path.startswith("/privacy/"):
        return False
    if request.cookies.get(privacy.services.consent_cookie.name):
        return False
    uid = session.get("uid")
    return not (uid is not None and ledger_grants(privacy.services.databases.main, str(uid)))


def register_cli(app: Flask) -> None:
    @app.cli.command("demo-data")
    def demo_data() -> None:
        """Add sample members with payments (the officer is contact@casenote.kr)."""
        from datetime import datetime

        people = [
            ("강효은", "contact@casenote.kr", []),
            ("김민지", "minji@example.kr", [("2024-03-15", 99000)]),
            ("이서준", "seojun@example.kr", [("2026-10-01", 9900)]),
        ]
        for name, email, pays in people:
            if db.session.scalar(select(User).where(User.email == email)):
                continue
            user = User(name=name, email=email)
            db.session.add(user)
            db.session.flush()
            for day, amount in pays:
                db.session.add(
                    Payment(
                        user_id=user.id,
                        amount=amount,
                        plan="yearly" if amount > 10000 else "monthly",
                        approval_no=f"DEMO-{user.id}-{day}",
                        paid_at=datetime.fromisoformat(day),
                    )
                )
        db.session.commit()
        click.echo("demo members: contact@casenote.kr (officer), minji@example.kr, seojun@example.kr")
