"""Words of the policy page (ko/en): section titles, table heads, the mandatory
contents (PIPA §30①, decree §31①), the consent form (§15②), legal bases, periods."""

from __future__ import annotations

__all__ = ["POLICY_PAGE"]

POLICY_PAGE: dict[str, dict[str, str]] = {
    "policy_title": {"ko": "개인정보 처리방침", "en": "Privacy Policy"},
    "s1": {"ko": "수집하는 개인정보", "en": "Personal information collected"},
    "s2": {"ko": "수집한 개인정보의 이용", "en": "Use of collected personal information"},
    "s3": {
        "ko": "개인정보처리의 위탁 및 개인정보의 제3자 제공",
        "en": "Outsourcing of processing and provision to third parties",
    },
    "s4": {"ko": "개인정보 보유 및 이용기간", "en": "Retention and use period"},
    "s5": {"ko": "개인정보의 파기 절차 및 방법", "en": "Destruction procedure and method"},
    "s6": {"ko": "이용자의 권리와 그 행사방법", "en": "Users' rights and how to exercise them"},
    "s7": {"ko": "개인정보 보호책임자 안내", "en": "Privacy officer"},
    "s8": {"ko": "쿠키의 설치·운영 및 거부", "en": "Cookies: installation, operation and refusal"},
    "item": {"ko": "항목", "en": "Item"},
    "when": {"ko": "수집 시점", "en": "Collected"},
    "required": {"ko": "필수", "en": "required"},
    "optional": {"ko": "선택", "en": "optional"},
    "purposes": {"ko": "이용 목적", "en": "Purposes"},
    "retention": {"ko": "보유기간", "en": "Retention"},
    "collection.signup": {"ko": "회원가입 시", "en": "at sign-up"},
    "collection.usage": {"ko": "서비스 이용 과정에서 생성", "en": "generated while the service is used"},
    "collection.payment": {"ko": "유료 서비스 결제 시", "en": "at payment"},
    # Said of an item with ``stored = false``, after the recipients it goes to.
    "not_stored": {"ko": "보관하지 않음", "en": "not kept by"},
    "basis": {"ko": "법적 근거", "en": "Legal basis"},
    "needs_consent": {
        "ko": "선택 동의 (동의한 경우에만 처리)",
        "en": "optional consent (processed only once granted)",
    },
    "gpc": {
        "ko": "Global Privacy Control(Sec-GPC) 신호를 보내는 브라우저는 이 목적을 거부한 것으로 봅니다.",
        "en": "A browser sending the Global Privacy Control signal (Sec-GPC) is treated as refusing this purpose.",
    },
    "items_used": {"ko": "처리 항목", "en": "Items processed"},
    "recipient": {"ko": "받는 자", "en": "Recipient"},
    "task": {"ko": "업무 내용", "en": "Task"},
    "kind": {"ko": "구분", "en": "Kind"},
    "items": {"ko": "제공 항목", "en": "Items"},
    "record": {"ko": "기록", "en": "Record"},
    "statute": {"ko": "보존근거", "en": "Legal basis"},
    "period": {"ko": "보존기간", "en": "Period"},
    "procedure": {"ko": "파기절차", "en": "Procedure"},
    "method": {"ko": "파기방법", "en": "Method"},
    "name": {"ko": "이름", "en": "Name"},
    "email": {"ko": "이메일", "en": "Email"},
    "phone": {"ko": "전화", "en": "Phone"},
    "version": {"ko": "버전", "en": "Version"},
    "effective": {"ko": "시행일", "en": "Effective from"},
    "history_title": {"ko": "개인정보 처리방침 변경 이력", "en": "privacy policy: history of changes"},
    "history_link": {"ko": "이전 처리방침과 변경 이력", "en": "Earlier versions and what changed"},
    "history_current": {"ko": "현재 처리방침 보기", "en": "The policy in force"},
    "history_in_force": {"ko": "현재 적용", "en": "in force"},
    "history_old": {
        "ko": "이 문서는 이전 버전의 처리방침입니다.",
        "en": "This is an earlier version of the policy.",
    },
    "history_material": {
        "ko": "정보주체에게 중요한 변경이 있습니다([!] 표시).",
        "en": "This version has changes that matter to members (marked [!]).",
    },
    "history_reconsent": {
        "ko": "시행일부터 다시 동의가 필요한 목적",
        "en": "Purposes that need consent again from the effective date",
    },
    "history_no_changes": {"ko": "내용 변경 없음", "en": "No change in content"},
    "history_first": {"ko": "처음 기록된 버전", "en": "The first recorded version"},
    "language": {"ko": "English", "en": "한국어"},
    # The mandatory contents of policy/contents.py (PIPA §30①5-6, decree §31①).
    "s9": {"ko": "개인정보의 안전성 확보조치", "en": "Measures that keep personal information safe"},
    "s10": {"ko": "개인정보 열람청구 등을 접수·처리하는 부서", "en": "Department that receives requests"},
    "s11": {"ko": "권익침해 구제방법", "en": "How to seek remedy"},
    "s12": {"ko": "개인정보 처리방침의 시행", "en": "Effective date"},
    "entrusted": {"ko": "개인정보 처리위탁", "en": "Entrustment of processing"},
    "provided": {"ko": "개인정보 제3자 제공", "en": "Provision to third parties"},
    "overseas": {"ko": "개인정보의 국외 이전", "en": "Transfers abroad"},
    "no_entrusted": {"ko": "처리를 위탁하는 곳이 없습니다.", "en": "No processing is entrusted to others."},
    "no_provided": {
        "ko": "제3자에게 제공하는 개인정보가 없습니다.",
        "en": "No personal information is provided to third parties.",
    },
    "no_overseas": {
        "ko": "위의 수탁자·제3자 중 개인정보를 국외로 이전하는 곳은 없습니다.",
        "en": "None of the recipients above transfers personal information abroad.",
    },
    "country": {"ko": "이전 국가", "en": "Country"},
    "transfer_method": {"ko": "이전 시기 및 방법", "en": "When and how"},
    "kept_items": {"ko": "보존 항목", "en": "Items kept"},
    "rights_intro": {
        "ko": "이용자는 언제든지 다음 권리를 행사할 수 있습니다.",
        "en": "Users can exercise the following rights at any time.",
    },
    "right.access": {
        "ko": "개인정보 열람 요구 (개인정보 보호법 제35조)",
        "en": "access to their personal information (PIPA Art. 35)",
    },
    "right.correction": {"ko": "정정·삭제 요구 (제36조)", "en": "correction or deletion (Art. 36)"},
    "right.stop": {"ko": "처리정지 요구 (제37조)", "en": "stopping the processing (Art. 37)"},
    "right.withdraw": {"ko": "동의 철회 (제37조 제1항)", "en": "withdrawing consent (Art. 37(1))"},
    "how": {"ko": "행사 방법", "en": "How"},
    "representative": {"ko": "법정대리인 등 대리인", "en": "Legal representatives and agents"},
    "measure.separate_archive": {
        "ko": "법령에 따라 보존하는 기록은 운영 DB와 분리된 별도의 DB에 보관합니다 (개인정보 보호법 제21조 제3항).",
        "en": "Records kept under a law are stored in a database separate from the service's own (PIPA Art. 21(3)).",
    },
    "measure.archive_encryption": {
        "ko": "별도 DB에 보관하는 기록은 이용자마다 다른 키로 암호화(AES-256-GCM)하고, 키는 그 DB 밖에 둡니다.",
        "en": "Records in the separate database are encrypted (AES-256-GCM) with a key per user, "
        "kept outside that database.",
    },
    "measure.operator_access": {
        "ko": "개인정보취급자가 개인정보를 열람하거나 내려받을 때마다 접속기록을 남기고 {period} 동안 보관합니다.",
        "en": "Every view or export of personal information by staff is recorded, "
        "and the records are kept for {period}.",
    },
    "measure.irrecoverable_destruction": {
        "ko": "보유기간이 끝난 개인정보는 복구할 수 없는 방법으로 파기하고, 개인정보 없이 파기 기록을 남깁니다.",
        "en": "Personal information whose period has ended is destroyed so that it cannot be restored, and each "
        "destruction is recorded without personal information.",
    },
    "remedy_intro": {
        "ko": "이용자는 개인정보침해로 인한 구제를 받기 위하여 아래 기관에 분쟁해결이나 상담 등을 신청할 수 있습니다.",
        "en": "To seek remedy for an infringement, users can apply for dispute resolution or advice "
        "to the bodies below.",
    },
    "institution": {"ko": "기관", "en": "Body"},
    "website": {"ko": "홈페이지", "en": "Website"},
    "department": {"ko": "부서", "en": "Department"},
    "effective_sentence": {
        "ko": "이 개인정보 처리방침은 {date}부터 시행됩니다.",
        "en": "This privacy policy takes effect on {date}.",
    },
    # The consent form: what PIPA §15② asks to be told for each optional purpose.
    "consent.purpose": {"ko": "수집·이용 목적", "en": "Purpose"},
    "consent.items": {"ko": "수집·이용 항목", "en": "Items"},
    "consent.period": {"ko": "보유 및 이용기간", "en": "Retention period"},
    "consent.until_withdrawn": {
        "ko": "동의를 철회할 때까지 이 목적에 이용하며, 기록은 다음 기간이 지나면 파기합니다: {classes}",
        "en": "Used for this purpose until you withdraw consent; the records are destroyed after: {classes}",
    },
    "consent.right_to_refuse": {
        "ko": "이 목적에 대한 동의를 거부할 권리가 있습니다.",
        "en": "You have the right to refuse consent to this purpose.",
    },
    "consent.if_refused": {"ko": "거부할 경우", "en": "If you refuse"},
    # Legal bases of purposes (basis_label) and kinds of recipients (kind_label).
    "basis.consent": {"ko": "정보주체의 동의", "en": "the data subject's consent"},
    "basis.contract": {"ko": "계약의 체결·이행", "en": "entering into or performing a contract"},
    "basis.legal_obligation": {"ko": "법령상 의무의 준수", "en": "compliance with a legal obligation"},
    "basis.legitimate_interest": {"ko": "개인정보처리자의 정당한 이익", "en": "the controller's legitimate interest"},
    "recipient_kind.outsourcing": {"ko": "개인정보 처리위탁", "en": "outsourcing of processing"},
    "recipient_kind.provision": {"ko": "개인정보 제3자 제공", "en": "provision to a third party"},
    "relationship.entrustment": {"ko": "처리위탁", "en": "entrustment"},
    "relationship.provision": {"ko": "제3자 제공", "en": "provision"},
    # Periods (period_label): English units take an 's' for more than one.
    "until_withdrawal": {"ko": "회원 탈퇴(동의 철회) 시까지", "en": "until membership ends (consent is withdrawn)"},
    "unit.years": {"ko": "년", "en": "year"},
    "unit.months": {"ko": "개월", "en": "month"},
    "unit.weeks": {"ko": "주", "en": "week"},
    "unit.days": {"ko": "일", "en": "day"},
    "unit.hours": {"ko": "시간", "en": "hour"},
    "unit.minutes": {"ko": "분", "en": "minute"},
    "unit.seconds": {"ko": "초", "en": "second"},
}
