"""The smallest app using flask-casenote-privacy, on embedded SQLite.

flask --app examples/minimal/app.py run
open http://127.0.0.1:5000/privacy/policy
"""

import os

from flask import Flask, redirect, url_for

from flask_casenote_privacy import Privacy

app = Flask(__name__, instance_path=os.path.join(os.path.dirname(os.path.abspath(__file__)), "instance"))
# A real app reads its secret from the environment; the demo makes one up.
app.config["SECRET_KEY"] = os.environ.get("SECRET_KEY", "demo-only-not-secret")
# Links in mail are built from this, never from the request's Host header.
app.config["PRIVACY_EXTERNAL_URL"] = os.environ.get("SITE_URL", "http://127.0.0.1:5000")
app.config["PRIVACY_AUTO_UPGRADE"] = True  # create the SQLite tables on start

privacy = Privacy(app)


@app.get("/")
def index():  # type: ignore[no-untyped-def]
    return redirect(url_for("privacy.policy_page"))
