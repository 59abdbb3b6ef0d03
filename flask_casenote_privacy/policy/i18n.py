"""Words of the user interface in the policy's languages (Korean first, English).

Texts of the policy itself come from the policy file; these are the labels and
connecting phrases around them.
"""

from __future__ import annotations

import re

from ..periods import Period

__all__ = ["basis_label", "josa", "kind_label", "period_label", "ui"]

_UI: dict[str, dict[str, str]] = {
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
    "manage_consent": {"ko": "동의 관리 페이지", "en": "consent page"},
    "withdraw_title": {"ko": "동의철회(회원탈퇴) 확인", "en": "Confirm your withdrawal"},
    "withdraw_explain": {
        "ko": "확인을 누르면 개인정보 수집·이용 동의를 철회하고 회원에서 탈퇴하며, 개인정보는 지체 없이 파기됩니다. "
        "다만 관계법령에 따라 보존해야 하는 아래 기록은 별도의 DB에 분리 보관한 후 기간이 지나면 파기합니다.",
        "en": "Confirming withdraws your consent and ends your membership; your personal information is destroyed "
        "without delay, except the records below, which the law makes us keep apart in a separate database until "
        "their period ends.",
    },
    "withdraw_confirm": {"ko": "동의철회 및 회원탈퇴", "en": "Withdraw and leave"},
    "request_title": {"ko": "요청 처리 현황", "en": "Your request"},
    "kind.withdraw": {"ko": "동의철회", "en": "consent withdrawal"},
    "kind.stop": {"ko": "처리정지", "en": "processing stop"},
    "kind.access": {"ko": "열람", "en": "access"},
    "kind.delete": {"ko": "삭제", "en": "deletion"},
    "kind.correct": {"ko": "정정", "en": "correction"},
    # The member's own page (/rights): correction, deletion of items, suspension (PIPA §36, §37, §38④).
    "rights_title": {"ko": "내 개인정보 관리", "en": "Your personal information"},
    "rights_page_intro": {
        "ko": "아래에서 개인정보를 바로 정정하거나, 회원을 유지한 채 선택 항목을 삭제하거나, 처리 목적별로 처리정지를 "
        "요구할 수 있습니다.",
        "en": "Here you can correct your personal information at once, delete optional items while staying a member, "
        "or ask us to stop processing for named purposes.",
    },
    "correct_title": {"ko": "개인정보 정정", "en": "Correct your information"},
    "correct_hint": {
        "ko": "바꿀 항목에만 새 값을 입력하세요. 정정은 즉시 반영되며 결과를 이메일로 알려드립니다.",
        "en": "Enter a new value only for what you want to change. It is corrected at once and you are told by email.",
    },
    "correct_submit": {"ko": "정정하기", "en": "Correct"},
    "delete_items_title": {"ko": "선택 항목 삭제 (회원 유지)", "en": "Delete optional items (stay a member)"},
    "delete_items_hint": {
        "ko": "필수 항목(이름·이메일 등)을 삭제하려면 회원탈퇴(동의철회)를 해야 합니다.",
        "en": "Deleting a required item (name, email, ...) means leaving the membership (a withdrawal).",
    },
    "delete_items_none": {
        "ko": "회원을 유지한 채 삭제할 수 있는 선택 항목이 없습니다.",
        "en": "No optional items can be deleted on their own.",
    },
    "delete_items_submit": {"ko": "선택 항목 삭제", "en": "Delete these items"},
    "stop_title": {"ko": "처리 목적별 처리정지", "en": "Stop processing for some purposes"},
    "stop_consent": {
        "ko": "동의에 근거한 목적: 동의를 즉시 철회합니다.",
        "en": "Purposes based on your consent: your consent is withdrawn at once.",
    },
    "stop_other": {
        "ko": "계약·법령·정당한 이익에 근거한 목적: 처리정지 요구로 접수되며, 개인정보 보호책임자가 10일 이내에 "
        "결정합니다 (법률상 의무 등 개인정보 보호법 제37조 제2항의 사유가 있으면 거절될 수 있습니다).",
        "en": "Purposes based on contract, law or legitimate interest: registered as a request to stop processing, "
        "which the privacy officer decides within 10 days (it may be refused on the grounds of PIPA Art. 37(2), "
        "such as a legal obligation).",
    },
    "stop_submit": {"ko": "처리정지 요구", "en": "Ask to stop"},
    "scope.items": {"ko": "항목", "en": "items"},
    "officer.items": {"ko": "항목 (정정·일부 삭제)", "en": "Items (correction, partial deletion)"},
    "officer.by_hand": {
        "ko": "직접 정정했음 (값 입력 없이 완료)",
        "en": "I corrected it myself (complete without values)",
    },
    "officer.new_value": {
        "ko": "새 값 (서면 요구에 적힌 값; 저장되지 않음)",
        "en": "New value (from the written request; not stored)",
    },
    "status.registered": {"ko": "접수됨 (처리 중)", "en": "registered (in progress)"},
    "status.completed": {"ko": "처리 완료", "en": "completed"},
    "status.refused": {"ko": "거절", "en": "refused"},
    "scope.all": {"ko": "회원 탈퇴 (전체)", "en": "leaving membership (all)"},
    "channel.web": {"ko": "웹", "en": "web"},
    "channel.email": {"ko": "이메일", "en": "email"},
    "channel.written": {"ko": "서면", "en": "in writing"},
    "request_id": {"ko": "요청 번호", "en": "Request"},
    "status": {"ko": "상태", "en": "Status"},
    "received": {"ko": "접수", "en": "Received"},
    "completed": {"ko": "처리", "en": "Completed"},
    "refused_because": {"ko": "거절 사유", "en": "Refused because"},
    "retained_title": {"ko": "법령에 따라 보관하는 기록", "en": "Records the law makes us keep"},
    "count": {"ko": "건수", "en": "Count"},
    "until": {"ko": "보관 기한", "en": "Kept until"},
    "consent_title": {"ko": "선택 동의 관리", "en": "Your optional consents"},
    "consent_intro": {
        "ko": "아래 목적은 동의한 경우에만 개인정보를 처리하며, 언제든지 철회할 수 있습니다.",
        "en": "The purposes below process personal data only with your consent, which you can withdraw at any time.",
    },
    "consent_saved": {"ko": "동의 설정을 저장했습니다.", "en": "Your choices are saved."},
    "consent_save": {"ko": "선택 저장", "en": "Save my choices"},
    "consent_accept_all": {"ko": "모두 동의", "en": "Accept all"},
    "consent_decline_all": {"ko": "모두 거부", "en": "Decline all"},
    "gpc_active": {
        "ko": "브라우저가 Global Privacy Control 신호를 보내고 있습니다.",
        "en": "Your browser sends the Global Privacy Control signal.",
    },
    # The privacy officer's pages (/officer/).
    "officer.title": {"ko": "개인정보 보호책임자 — 요청 관리", "en": "Privacy officer — requests"},
    "officer.requests": {"ko": "요청 관리", "en": "Requests"},
    "officer.role": {"ko": "개인정보 보호책임자", "en": "privacy officer"},
    "officer.back": {"ko": "← 요청 관리", "en": "← Requests"},
    "officer.to_handle": {"ko": "처리할 요청 (기한 초과 먼저)", "en": "Requests to handle (overdue first)"},
    "officer.member": {"ko": "회원", "en": "Member"},
    "officer.member_id": {"ko": "회원 ID", "en": "Member id"},
    "officer.kind": {"ko": "종류", "en": "Kind"},
    "officer.channel": {"ko": "경로", "en": "Channel"},
    "officer.due": {"ko": "처리 기한", "en": "Due"},
    "officer.received_due": {"ko": "접수 / 기한", "en": "Received / due"},
    "officer.overdue": {"ko": "기한 초과", "en": "overdue"},
    "officer.no_requests": {"ko": "요청이 없습니다.", "en": "No requests."},
    "officer.undelivered": {"ko": "전달되지 않은 통지", "en": "Notices not delivered"},
    "officer.undelivered_note": {
        "ko": "메일 서버 장애 등; 주소는 보관 기간이 끝나면 파기",
        "en": "mail server down, etc.; each address is destroyed when its window ends",
    },
    "officer.notice": {"ko": "통지", "en": "Notice"},
    "officer.attempts": {"ko": "시도", "en": "Attempts"},
    "officer.last_error": {"ko": "마지막 오류", "en": "Last error"},
    "officer.next_attempt": {"ko": "다음 시도", "en": "Next attempt"},
    "officer.notice_expired": {"ko": "전달 실패 (기한 만료)", "en": "not delivered (window ended)"},
    "officer.notice_retrying": {"ko": "재시도 중", "en": "retrying"},
    "officer.register_title": {"ko": "서면·이메일 요청 등록", "en": "Register a written or emailed request"},
    "officer.scope_all": {"ko": "전체 (회원탈퇴)", "en": "All (leaves membership)"},
    "officer.scope_some": {"ko": "아래에서 고른 목적만:", "en": "Only the purposes ticked below:"},
    "officer.scope_hint": {
        "ko": "목적별로 처리하려면 '아래에서 고른 목적만'을 선택하고 목적을 하나 이상 고르세요. "
        "열람·삭제 요구는 목적을 고르지 않습니다.",
        "en": "To handle some purposes only, choose 'Only the purposes ticked below' and tick at least one. "
        "Access and deletion requests take no purposes.",
    },
    "officer.register": {"ko": "등록", "en": "Register"},
    "officer.request": {"ko": "요청", "en": "Request"},
    "officer.registered_by": {"ko": "등록", "en": "registered by"},
    "officer.decided_by": {"ko": "처리자", "en": "Decided by"},
    "officer.refusal": {"ko": "거절 사유", "en": "Refusal ground"},
    "officer.kept": {"ko": "법령에 따라 보관", "en": "Kept under the law"},
    "officer.nothing_found": {
        "ko": "해당 회원의 정보가 없습니다.",
        "en": "Nothing was found for this subject: check the member ID.",
    },
    "officer.kept_count": {"ko": "{count}건, {until}까지", "en": "{count}, kept until {until}"},
    "officer.export": {"ko": "회원 데이터 내보내기 (JSON)", "en": "Export the member's data (JSON)"},
    "officer.complete": {"ko": "처리 완료", "en": "Complete"},
    "officer.explanation": {"ko": "설명", "en": "Explanation"},
    "officer.refuse": {"ko": "거절", "en": "Refuse"},
    "officer.destructions": {"ko": "파기 기록", "en": "Destruction ledger"},
    "officer.destructions_note": {
        "ko": "개인정보 없이, 실행·보존 분류별로 파기한 건수와 방법을 기록합니다.",
        "en": "What was destroyed, per run and retention class: counts and methods, no personal data.",
    },
    "officer.ran_at": {"ko": "실행 시각", "en": "Run at"},
    "officer.retention_class": {"ko": "보존 분류", "en": "Retention class"},
    "officer.statute": {"ko": "근거", "en": "Legal basis"},
    "officer.target": {"ko": "대상", "en": "Target"},
    "officer.method": {"ko": "방법", "en": "Method"},
    "officer.executor": {"ko": "실행자", "en": "Executor"},
    "officer.run_id": {"ko": "실행 ID", "en": "Run id"},
    "officer.no_destructions": {"ko": "파기 기록이 없습니다.", "en": "Nothing has been destroyed yet."},
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


# Words of the rights workflow: identity and agents, postponement, limits, objections.
_UI.update(
    {
        "officer.identity_check": {"ko": "본인 확인 방법", "en": "Identity checked by"},
        "identity.signed_in": {"ko": "로그인 세션", "en": "signed-in session"},
        "identity.email_link": {"ko": "등록 이메일로 보낸 1회용 링크", "en": "single-use link to the address on file"},
        "identity.registered_email": {"ko": "등록된 이메일에서 보낸 요청", "en": "email from the address on file"},
        "identity.id_document": {"ko": "신분증 확인", "en": "identity document"},
        "identity.phone": {"ko": "등록 전화번호 확인", "en": "call back / phone check"},
        "officer.requester": {"ko": "요구한 사람", "en": "Requested by"},
        "requester.subject": {"ko": "정보주체 본인", "en": "the data subject"},
        "requester.agent": {"ko": "대리인 (위임을 받은 자)", "en": "an agent (power of attorney)"},
        "requester.legal_representative": {"ko": "법정대리인", "en": "a legal representative"},
        "officer.agent_reference": {"ko": "위임장 등 참조번호", "en": "Power-of-attorney reference"},
        "officer.postponed": {"ko": "열람 연기", "en": "Access postponed"},
        "officer.postpone": {"ko": "열람 연기", "en": "Postpone"},
        "officer.postpone_until": {"ko": "새 기한", "en": "New date"},
        "officer.postpone_reason": {"ko": "연기 사유", "en": "Reason"},
        "officer.withheld": {"ko": "열람 제한 항목 (선택 시 해당 부분만 제한)", "en": "Withhold only these parts"},
        "officer.limitation": {"ko": "열람 제한", "en": "Access limited"},
        "officer.no_deletion_refusal": {
            "ko": "삭제 요구는 거절하지 않습니다. 처리 완료 시 다른 법령이 보관을 정한 기록만 분리 보관하고, "
            "무엇을 어떤 법령에 따라 언제까지 보관하는지 회원에게 알립니다.",
            "en": "A deletion is not refused. Completing it keeps apart only what another law names, and tells the "
            "member what is kept, under which law and until when.",
        },
        "objections": {"ko": "이의제기", "en": "Objections"},
        "objection.statement": {"ko": "이의 내용", "en": "Objection"},
        "objection.register": {"ko": "이의제기 등록", "en": "Register an objection"},
        "objection.submit": {"ko": "이의제기", "en": "Object"},
        "objection.decide": {"ko": "이의제기 결정", "en": "Decide the objection"},
        "objection.upheld": {"ko": "인용 (요구대로 처리)", "en": "upheld (carry out the request)"},
        "objection.dismissed": {"ko": "기각", "en": "dismissed"},
        "objection.open": {"ko": "검토 중", "en": "waiting for a decision"},
        "objection.reason": {"ko": "결정 사유", "en": "Reason"},
    }
)


def ui(key: str, lang: str) -> str:
    """A UI phrase in ``lang`` (English when the language has no translation)."""
    texts = _UI[key]
    return texts.get(lang) or texts["en"]


def basis_label(basis: str, lang: str) -> str:
    return ui(f"basis.{basis}", lang)


def kind_label(kind: str, lang: str) -> str:
    return ui(f"recipient_kind.{kind}", lang)


def period_label(period: Period | None, lang: str) -> str:
    """``P5Y`` -> "5년" / "5 years"; ``None`` -> until withdrawal."""
    if period is None:
        return ui("until_withdrawal", lang)
    if lang == "ko":
        return " ".join(f"{n}{ui(f'unit.{unit}', 'ko')}" for unit, n in period.parts())
    return ", ".join(f"{n} {ui(f'unit.{unit}', 'en')}{'' if n == 1 else 's'}" for unit, n in period.parts())


def josa(word: str, pair: str) -> str:
    """The Korean particle that fits after ``word``: ``josa("이름", "과/와")`` -> "과".

    ``pair`` is "after a final consonant/after a vowel" ("을/를", "이/가",
    "은/는", "과/와"); a word not ending in Hangul gets both, e.g. "을(를)".
    """
    with_batchim, without = pair.split("/")
    # The particle follows the word, not a trailing aside: "신용카드 결제 (결제대행)" -> "를".
    word = re.sub(r"\s*\([^()]*\)\s*$", "", word) or word
    last = word.rstrip()[-1:] or " "
    code = ord(last) - 0xAC00
    if not 0 <= code <= 11171:
        return f"{with_batchim}({without})"
    return with_batchim if code % 28 else without
