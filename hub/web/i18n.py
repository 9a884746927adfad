"""The web admin's two languages: labels in English and Arabic, numbers and dates per language.

English is the key; the Arabic text is what an accountant in Syria reads. Numbers and dates are
formatted with Babel for ``en`` and ``ar_SY``; Arabic pages show Arabic-Indic digits, as the
associations' own documents do. Cron expressions are described in words (cron-descriptor for
English; the common shapes by hand for Arabic, which it does not ship).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime
from babel.numbers import format_decimal

__all__ = ["LANGS", "describe_cron", "fmt_date", "fmt_datetime", "fmt_number", "translate"]

LANGS = ("en", "ar")
_ARABIC_DIGITS = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")

AR = {
    "Wasl Hub": "وصل",
    "Sign in": "تسجيل الدخول",
    "Sign out": "تسجيل الخروج",
    "E-mail": "البريد الإلكتروني",
    "Password": "كلمة المرور",
    "The e-mail or password is wrong.": "البريد الإلكتروني أو كلمة المرور غير صحيحة.",
    "Too many failed attempts; wait ten minutes, then try again.": "محاولات فاشلة كثيرة؛ انتظر عشر دقائق ثم حاول مجدداً.",
    "Overview": "نظرة عامة",
    "Connections": "الاتصالات",
    "Connection": "الاتصال",
    "Runs": "عمليات التشغيل",
    "Run": "التشغيل",
    "Quarantine": "الحجر",
    "Reconciliation": "المطابقة",
    "Records": "السجلات",
    "Language": "اللغة",
    "Last run": "آخر تشغيل",
    "Next run": "التشغيل التالي",
    "Records in the store": "السجلات المخزنة",
    "Open quarantine": "الحجر المفتوح",
    "Open suggestions": "اقتراحات مفتوحة",
    "Waiting to send": "بانتظار الإرسال",
    "since": "منذ",
    "Records and failures, last 30 days": "السجلات والإخفاقات خلال آخر ٣٠ يوماً",
    "records stored": "سجلات مخزنة",
    "failures": "إخفاقات",
    "Settings": "الإعدادات",
    "Records sent here go through": "تمرّ السجلات المرسلة إلى هنا عبر",
    "Schedule": "الجدولة",
    "not scheduled": "غير مجدول",
    "paused": "متوقف مؤقتاً",
    "Check": "فحص",
    "Run now": "تشغيل الآن",
    "Pause": "إيقاف مؤقت",
    "Resume": "استئناف",
    "Save schedule": "حفظ الجدولة",
    "Cron expression": "تعبير كرون",
    "Status": "الحالة",
    "Trigger": "المُطلِق",
    "Started": "بدأ",
    "Finished": "انتهى",
    "Duration": "المدة",
    "Read": "مقروءة",
    "Inserted": "جديدة",
    "Updated": "معدلة",
    "Unchanged": "دون تغيير",
    "Quarantined": "محجوزة",
    "Skipped rows": "صفوف متخطّاة",
    "skipped (not records)": "متخطّاة (ليست سجلات)",
    "Delivered": "مسلّمة",
    "Log": "السجل",
    "Error": "الخطأ",
    "Notes": "ملاحظات",
    "All": "الكل",
    "Filter": "تصفية",
    "Line": "السطر",
    "Stage": "المرحلة",
    "Errors": "الأخطاء",
    "Raw record": "السجل الخام",
    "Stored as corrected": "خُزّن بعد التصحيح",
    "Correction sheet": "جدول التصحيح",
    "The open entries as a workbook for the association to correct; uploaded back, each changed cell is replayed as a correction.": "السجلات المفتوحة في مصنف تصحّحه الجمعية؛ وعند رفعه تُعاد معالجة كل خلية تغيّرت على أنها تصحيح.",
    "Download the correction sheet": "تنزيل جدول التصحيح",
    "Corrected sheet (.xlsx or .csv)": "الجدول المصحَّح (‎.xlsx أو ‎.csv)",
    "Upload and replay": "رفع وإعادة المعالجة",
    "Replayed": "أُعيدت معالجتها",
    "Still invalid": "ما زالت غير صالحة",
    "As they were": "كما كانت",
    "Skipped": "تُجووزت",
    "Row": "الصف",
    "Choose the corrected sheet first.": "اختر الجدول المصحَّح أولاً.",
    "upload the .xlsx or .csv file the correction sheet was saved as": "ارفع ملف ‎.xlsx أو ‎.csv الذي حُفظ فيه جدول التصحيح",
    "the file is larger than a correction sheet can be (20 MB)": "الملف أكبر مما يمكن أن يكون عليه جدول تصحيح (20 ميغابايت)",
    "The source sent the record above; a person corrected it to this, and the hub stored it.": "أرسل المصدر السجل أعلاه، وصحّحه شخص إلى هذا، فخزّنه المركز.",
    "Field": "الحقل",
    "Value": "القيمة",
    "Replay": "إعادة المعالجة",
    "Dismiss": "استبعاد",
    "Reason": "السبب",
    "Fix the values, then replay.": "صحّح القيم ثم أعد المعالجة.",
    "Received over the API: the sending hub fixes the record and sends it again; dismiss this entry once it has.": (
        "وصل عبر الواجهة البرمجية: يصحّح المركز المرسِل السجل ويرسله من جديد، ثم استبعد هذا القيد."
    ),
    "Stored: the record passed after the fix.": "تم التخزين: نجح السجل بعد التصحيح.",
    "Refused by the destination. Once it is mended (the right token, a wider column), send the record again.": (
        "رفضته الجهة المستقبلة. بعد إصلاحها (الرمز الصحيح، عمود أعرض) أرسل السجل من جديد."
    ),
    "Send again": "إرسال من جديد",
    "The first rows through the mapping and the schema, nothing stored:": "الصفوف الأولى عبر التحويل والمخطط، دون تخزين شيء:",
    "rows": "الصفوف",
    "would be stored": "ستُخزَّن",
    "passed over (dismissed or corrected in quarantine before)": "تُتجاوز (رُفضت أو صُحّحت في الحجر من قبل)",
    "would be quarantined": "ستُحجَز",
    "Sent: the destination took the record.": "أُرسل: قبلت الجهة المستقبلة السجل.",
    "Still invalid:": "ما زال غير صالح:",
    "Dismissed.": "تم الاستبعاد.",
    "Nothing waits in quarantine.": "لا شيء في الحجر.",
    "Waiting": "بالانتظار",
    "shown here": "المعروض هنا",
    "oldest first": "الأقدم أولاً",
    "Later entries": "قيود أحدث",
    "hub quarantine export writes them all to one workbook": "الأمر hub quarantine export يكتبها كلها في مصنف واحد",
    "Bank line": "حركة البنك",
    "Candidate donations": "التبرعات المرشحة",
    "Confirm": "تأكيد",
    "Reject": "رفض",
    "Score": "الدرجة",
    "Rule": "القاعدة",
    "No suggestion waits for a person.": "لا توجد اقتراحات بانتظار المراجعة.",
    "Download the report": "تنزيل التقرير",
    "Download the 3W: who does what where, by month (CSV with HXL tags)": "تنزيل جدول من يفعل ماذا وأين، شهراً بشهر (CSV بوسوم HXL)",
    "Download the programs as IATI activities (XML, for funders' tools)": "تنزيل البرامج بصيغة IATI (XML، لأدوات الجهات المانحة)",
    "Totals": "الإجماليات",
    "Amount": "المبلغ",
    "Date": "التاريخ",
    "Payer": "الدافع",
    "Reference": "المرجع",
    "Donor": "المتبرع",
    "Account": "الحساب",
    "Keys: c confirms, r rejects.": "المفاتيح: c للتأكيد، r للرفض.",
    "Confirmed.": "تم التأكيد.",
    "Rejected.": "تم الرفض.",
    "Entity": "الكيان",
    "Governorate": "المحافظة",
    "Sector": "القطاع",
    "From": "من",
    "To": "إلى",
    "Summary by governorate": "ملخص حسب المحافظة",
    "Next page": "الصفحة التالية",
    "first page": "الصفحة الأولى",
    "Key": "المفتاح",
    "Version": "الإصدار",
    "Updated at": "آخر تحديث",
    "Not found": "غير موجود",
    "This page does not exist, or it is not yours to see.": "هذه الصفحة غير موجودة أو ليست من صلاحياتك.",
    "The form expired; please try again.": "انتهت صلاحية النموذج؛ حاول مرة أخرى.",
    "Run requested; it starts within seconds.": "طُلب التشغيل؛ سيبدأ خلال ثوانٍ.",
    "It is running now; the run going on reads what a new one would. Nothing was requested.": "إنه يعمل الآن؛ والتشغيل الجاري يقرأ ما كان سيقرؤه تشغيل جديد. لم يُطلب شيء.",
    "Schedule saved.": "تم حفظ الجدولة.",
    "Schedule paused.": "تم إيقاف الجدولة مؤقتاً.",
    "Schedule resumed.": "تم استئناف الجدولة.",
    "running": "قيد التشغيل",
    "succeeded": "نجح",
    "partial": "جزئي",
    "failed": "فشل",
    "interrupted": "مقاطع",
    "queued": "في الانتظار",
    "skipped": "متخطّى",
    "Slots skipped": "مواعيد متخطّاة",
    "Audit log": "سجل التدقيق",
    "Is the chain intact?": "هل السلسلة سليمة؟",
    "Each entry carries the hash of the one before: an entry altered or removed breaks the chain from there on.": "يحمل كل قيد بصمة القيد الذي قبله: فأي قيد عُدّل أو حُذف يكسر السلسلة من عنده فما بعد.",
    "Intact": "سليمة",
    "entries": "قيداً",
    "Head": "الرأس",
    "Keep the head somewhere else: entries cut from the end leave a shorter chain that still fits; hub audit verify --head tells.": "احفظ الرأس في مكان آخر: فالقيود المحذوفة من آخر السجل تترك سلسلة أقصر تبقى متّسقة؛ والأمر hub audit verify --head يكشف ذلك.",
    "Broken at entry": "مكسورة عند القيد",
    "it, or the one before it, was altered or removed.": "عُدّل هذا القيد أو الذي قبله أو حُذف.",
    "Check the whole chain": "تحقّق من السلسلة كلها",
    "When": "متى",
    "Who": "من",
    "Action": "الإجراء",
    "Subject": "الموضوع",
    "Detail": "التفاصيل",
    "Older entries": "قيود أقدم",
    "First skipped": "أول موعد متخطّى",
    "Last slot": "آخر موعد",
    "suggested": "مقترح",
    "confirmed": "مؤكد",
    "rejected": "مرفوض",
    "undone": "ملغى",
    "open": "مفتوح",
    "replayed": "أعيدت معالجته",
    "dismissed": "مستبعد",
    "households": "الأسر",
    "count": "العدد",
    "Platform": "المنصة",
    "Signed in as": "مسجل الدخول باسم",
    "Tokens": "الرموز",
    "API tokens": "رموز الواجهة البرمجية",
    "Token created:": "أُنشئ الرمز:",
    "Copy it now and give it to the hub that will use it; it is not shown again.": "انسخه الآن وسلّمه إلى المركز الذي سيستخدمه؛ لن يُعرض مرة أخرى.",
    "New token": "رمز جديد",
    "Name": "الاسم",
    "Speaks for": "يمثّل",
    "One association: reads and writes only its records": "جمعية واحدة: يقرأ سجلاتها ويكتبها فقط",
    "Association id": "معرّف الجمعية",
    "The platform: reads every association's records": "المنصة: يقرأ سجلات جميع الجمعيات",
    "Rights": "الصلاحيات",
    "May read records and changes": "يقرأ السجلات والتغييرات",
    "May push records": "يرسل السجلات",
    "read": "قراءة",
    "write": "كتابة",
    "read+write": "قراءة وكتابة",
    "Expires in (days; empty: until revoked)": "تنتهي صلاحيته بعد (أيام؛ فارغ: حتى الإلغاء)",
    "Create token": "إنشاء الرمز",
    "Starts with": "يبدأ بـ",
    "Last used": "آخر استخدام",
    "Expires": "تنتهي صلاحيته",
    "Revoked": "أُلغي",
    "Revoke": "إلغاء",
    "Token revoked: it is refused from the next request on.": "أُلغي الرمز: يُرفض ابتداءً من الطلب التالي.",
    "This hub's register holds no association with this id: check the spelling, since its hub's records must carry exactly this id. Revoke the token if it is wrong.": (
        "لا يضم سجل هذا المركز جمعية بهذا المعرّف: تحقّق من الكتابة، فسجلات مركزها يجب أن تحمل هذا المعرّف نفسه. ألغِ الرمز إن كان خاطئاً."
    ),
    # The account page (hub.web.account_page): where the money came from and what aid it became.
    "Money and aid": "الأموال والمساعدات",
    "Where the money came from and what aid it became, added up from the records this hub holds.": (
        "من أين جاءت الأموال وإلى أي مساعدات تحوّلت، مجموعةً من السجلات التي يحفظها هذا المركز."
    ),
    "Association": "الجمعية",
    "all": "الكل",
    "Program": "البرنامج",
    "Programs": "البرامج",
    "Money in: donations": "الأموال الواردة: التبرعات",
    "Given: pledged or received. Received: what came in, a received gift's amount or what reconciliation matched to the bank. Syrian pounds from before the redenomination are counted apart.": (
        "المقدَّم: ما تُعهِّد به أو قُبض. المقبوض: ما وصل فعلاً، مبلغ التبرع المقبوض أو ما طابقته التسوية مع المصرف."
        " تُحسب الليرات السورية السابقة لحذف الأصفار على حدة."
    ),
    "Group": "المجموعة",
    "Donations": "التبرعات",
    "Given": "المقدَّم",
    "Received": "المقبوض",
    "Aid out: distributions": "المساعدات المقدَّمة: التوزيعات",
    "Distributions": "التوزيعات",
    "People": "الأفراد",
    "Women and girls": "النساء والفتيات",
    "Men and boys": "الرجال والفتيان",
    "Target": "المستهدف",
    "No program named": "بلا برنامج مسمّى",
    "not in the store": "غير محفوظ هنا",
    # Donation statuses and channels (the common schema's words), as the account page groups them.
    "pledged": "متعهَّد به",
    "received": "مقبوض",
    "refunded": "مُعاد",
    "cancelled": "ملغى",
    "platform": "المنصة",
    "bank_transfer": "تحويل مصرفي",
    "cash": "نقداً",
    "direct": "مباشر",
    "mobile": "محفظة إلكترونية",
}


def translate(text: str, lang: str) -> str:
    """``text`` in ``lang`` (English is the key; untranslated text stays English)."""
    return AR.get(text, text) if lang == "ar" else text


def fmt_number(value, lang: str) -> str:
    """A count or an amount, grouped; Arabic-Indic digits in Arabic. Decimal stays exact."""
    if value is None or value == "":
        return ""
    try:
        number = value if isinstance(value, (int, Decimal)) else Decimal(str(value))
    except InvalidOperation:
        return str(value)
    if lang == "ar":
        return format_decimal(number, locale="ar_SY", numbering_system="arab", decimal_quantization=False).translate(_ARABIC_DIGITS)
    return format_decimal(number, locale="en", decimal_quantization=False)


def fmt_datetime(value, lang: str, tz: str = "Asia/Damascus") -> str:
    """A moment in the hub's zone, medium length, in the page's language."""
    if not value:
        return ""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(value, date) and not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    if value.tzinfo is not None:
        value = value.astimezone(ZoneInfo(tz))
    text = format_datetime(value, "medium", locale="ar_SY" if lang == "ar" else "en_GB", tzinfo=None)
    return text.translate(_ARABIC_DIGITS) if lang == "ar" else text


def fmt_date(value: str | date, lang: str) -> str:
    """A day, medium length, in the page's language (Arabic-Indic digits in Arabic)."""
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value)
        except ValueError:
            return value
    if lang == "ar":
        return format_date(value, "medium", locale="ar_SY").translate(_ARABIC_DIGITS)
    return format_date(value, "medium", locale="en_GB")


_AR_DAYS = {"0": "الأحد", "1": "الاثنين", "2": "الثلاثاء", "3": "الأربعاء", "4": "الخميس", "5": "الجمعة", "6": "السبت", "7": "الأحد"}


def describe_cron(expression: str, lang: str) -> str:
    """A cron expression in words ("every day at 02:00"); the expression itself if it cannot be read."""
    parts = expression.split()
    if len(parts) != 5:
        return expression
    if lang == "ar":
        minute, hour, dom, month, dow = parts
        if minute.isdigit() and hour.isdigit() and month == "*":
            at = f"{int(hour):02d}:{int(minute):02d}".translate(_ARABIC_DIGITS)
            if dom == "*" and dow == "*":
                return f"كل يوم في الساعة {at}"
            if dom == "*" and dow in _AR_DAYS:
                return f"كل {_AR_DAYS[dow]} في الساعة {at}"
            if dow == "*" and dom.isdigit():
                return f"في اليوم {dom.translate(_ARABIC_DIGITS)} من كل شهر في الساعة {at}"
        if minute.startswith("*/") and minute[2:].isdigit() and hour == dom == month == dow == "*":
            return f"كل {minute[2:].translate(_ARABIC_DIGITS)} دقيقة"
        if minute.isdigit() and hour == dom == month == dow == "*":
            return f"كل ساعة عند الدقيقة {minute.translate(_ARABIC_DIGITS)}"
        return expression
    from cron_descriptor import ExpressionDescriptor, Options

    options = Options()
    options.use_24hour_time_format = True
    options.locale_code = "en_US"
    try:
        text = ExpressionDescriptor(expression, options).get_description()
    except Exception:  # noqa: BLE001 - an unreadable expression is shown as it is
        return expression
    if parts[2:] == ["*", "*", "*"] and parts[0].isdigit() and parts[1].isdigit():
        return f"every day at {int(parts[1]):02d}:{int(parts[0]):02d}"
    return text[0].lower() + text[1:]
