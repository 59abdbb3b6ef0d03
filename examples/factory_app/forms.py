"""Flask-WTF forms: each carries its CSRF token, checked by CSRFProtect."""

from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Regexp

EMAIL = Regexp(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", message="이메일 주소를 확인하세요. / Check the email address.")


class SignUpForm(FlaskForm):
    name = StringField("이름 / Name", validators=[DataRequired(), Length(max=100)])
    email = StringField("이메일 / Email", validators=[DataRequired(), Length(max=320), EMAIL])
    password = PasswordField("비밀번호 / Password", validators=[DataRequired(), Length(min=8, max=200)])
    # PIPA §22-2: the policy's [children] rule asks for a confirmation, not a birth date.
    over_14 = BooleanField("만 14세 이상입니다 / I am 14 or older")


class SignInForm(FlaskForm):
    email = StringField("이메일 / Email", validators=[DataRequired(), EMAIL])
    password = PasswordField("비밀번호 / Password", validators=[DataRequired()])
    remember = BooleanField("로그인 유지 / Remember me")


class NoteForm(FlaskForm):
    title = StringField("제목 / Title", validators=[DataRequired(), Length(max=200)])
    body = TextAreaField("내용 / Text", validators=[Length(max=10000)])


class UpgradeForm(FlaskForm):
    """Buying the Pro plan (the card form itself is the payment agent's, not ours)."""
