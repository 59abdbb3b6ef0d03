"""A local stand-in for the NICE Payments gateway (나이스페이먼츠). It takes the
card data, "approves" the payment, keeps nothing, and sends the buyer back to
the site with a signed approval that holds no card data."""

from __future__ import annotations

import secrets
from typing import Any

from flask import Blueprint, abort, current_app, redirect, render_template, request, session, url_for
from itsdangerous import URLSafeSerializer

gateway = Blueprint("nicepay", __name__)
CARD_ITEMS = ["card_number", "card_expiry", "birth_date", "business_registration_number", "card_password_prefix"]


@gateway.post("/pay")
def pay() -> Any:
    form = request.form
    digits = "".join(c for c in form.get("card_number", "") if c.isdigit())
    problems = []
    if not 13 <= len(digits) <= 19:
        problems.append("카드 번호 / card number")
    if len(form.get("card_expiry", "")) < 4:
        problems.append("유효기간 / expiry")
    if not (form.get("birth_date") or form.get("business_registration_number")):
        problems.append("생년월일 또는 사업자등록번호 / birth date or business number")
    if len(form.get("card_password_prefix", "")) != 2:
        problems.append("비밀번호 앞 두자리 / first two password digits")
    if problems:
        return render_template("gateway_error.html", problems=problems), 400
    uid = session.get("uid") or abort(401)
    approval = {
        "uid": uid,
        "plan": form.get("plan", ""),
        "approval_no": "NP" + secrets.token_hex(6).upper(),
        "card_last4": digits[-4:],  # what a receipt shows; the site does not store it
        "items": [i for i in CARD_ITEMS if form.get(i)],
    }
    token = URLSafeSerializer(current_app.config["SECRET_KEY"], salt="demo.nicepay").dumps(approval)
    return redirect(url_for("checkout_complete", r=token), 303)
