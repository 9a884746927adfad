"""Record problems in plain words, Arabic or English, for the people who correct the data.

The validator's own message is precise but technical; an association's accountant needs
"the amount must be a number" in their language, with the column they know.
"""

from __future__ import annotations

__all__ = ["FIELD_NAMES", "plain_words"]

FIELD_NAMES = {
    "id": ("id", "الرقم"),
    "association_id": ("association", "الجمعية"),
    "program_id": ("program", "البرنامج"),
    "amount": ("amount", "المبلغ"),
    "currency": ("currency", "العملة"),
    "donated_at": ("date", "التاريخ"),
    "distributed_at": ("date", "تاريخ التوزيع"),
    "channel": ("payment channel", "طريقة الدفع"),
    "status": ("status", "الحالة"),
    "reference": ("payment reference", "رقم المرجع"),
    "donor.name": ("donor name", "اسم المتبرع"),
    "donor.account": ("donor account", "حساب المتبرع"),
    "donor.country": ("donor country", "بلد المتبرع"),
    "governorate": ("governorate", "المحافظة"),
    "sector": ("sector", "القطاع"),
    "households": ("households", "عدد الأسر"),
    "individuals": ("individuals", "عدد الأفراد"),
    "quantity": ("quantity", "الكمية"),
    "value": ("value", "القيمة"),
    "item": ("item", "المادة"),
}

_TEMPLATES = {
    "required": ("{field} is missing", "الحقل «{field}» مفقود"),
    "pattern": ("{field} is not written as expected", "قيمة «{field}» مكتوبة بشكل غير صحيح"),
    "enum": ("{field} is not one of the allowed values", "قيمة «{field}» ليست من القيم المسموحة"),
    "format": ("{field} is not a valid date or code", "«{field}» ليس تاريخاً أو رمزاً صحيحاً"),
    "type": ("{field} has the wrong kind of value", "نوع قيمة «{field}» غير صحيح"),
    "minimum": ("{field} is too small", "قيمة «{field}» أصغر من المسموح"),
    "maximum": ("{field} is too large", "قيمة «{field}» أكبر من المسموح"),
    "minLength": ("{field} is empty", "الحقل «{field}» فارغ"),
    "maxLength": ("{field} is too long", "قيمة «{field}» أطول من المسموح"),
    "additionalProperties": ("the record has a field the schema does not know", "السجل يحتوي حقلاً غير معروف"),
    "decimal": ("{field} must be a number", "يجب أن يكون «{field}» رقماً"),
    "integer": ("{field} must be a whole number", "يجب أن يكون «{field}» عدداً صحيحاً"),
    "date": ("{field} is not a date in the expected format", "«{field}» ليس تاريخاً بالصيغة المتوقعة"),
    "governorate": ("{field} is not a known governorate", "«{field}» ليست محافظة معروفة"),
    "sector": ("{field} is not a known sector", "«{field}» ليس قطاعاً معروفاً"),
    "currency": ("{field} is not a currency the hub can read", "«{field}» ليست عملة معروفة: اكتب رمزها (SYP، USD) أو اسمها"),
    "consistency": ("{field} does not add up with the record's other figures", "«{field}» لا يتفق مع أرقام السجل الأخرى"),
    "map": ("{field} has a value the mapping does not know", "قيمة «{field}» غير معروفة في جدول التحويل"),
    "boolean": ("{field} must be yes or no", "يجب أن يكون «{field}» نعم أو لا"),
    "key": ("{field} is empty but identifies the record", "الحقل «{field}» فارغ وهو مطلوب لتعريف السجل"),
    "json": ("the line is not valid JSON", "السطر ليس JSON صالحاً"),
    "edit": ("the corrected {field} is not valid JSON", "القيمة المصححة لـ«{field}» ليست JSON صالحاً"),
    "unread": ("{field} is not a column the record is read from", "«{field}» ليس عموداً يُقرأ منه السجل"),
    "delivery": ("the destination refused the record", "رفضت الجهة المستقبلة السجل"),
    "destination": ("the destination refused the record", "رفضت الجهة المستقبلة السجل"),
    "platform": ("the platform refused the record", "رفضت المنصة السجل"),
    "scope": ("the record belongs to another association", "السجل يخص جمعية أخرى"),
    "formula": (
        "{field} is a formula whose value the file does not carry",
        "«{field}» صيغة لا يحمل الملف قيمتها: افتح الملف في برنامج الجداول واحفظه",
    ),
    "columns": (
        "the line has more values than the header has columns",
        "في السطر قيم أكثر من أعمدة العنوان: قيمة فيها فاصلة دون علامتي تنصيص؟",
    ),
    "dependentRequired": ("{field} is missing", "الحقل «{field}» مفقود"),
}


def _field_name(path: str, lang: str) -> str:
    names = FIELD_NAMES.get(path)
    if names:
        return names[1] if lang == "ar" else names[0]
    return path


def plain_words(problem: dict, lang: str = "en") -> str:
    """One problem (``path``, ``rule``, ``message``) as a sentence in ``lang`` (``en`` or ``ar``)."""
    template = _TEMPLATES.get(problem.get("rule", ""))
    field = _field_name(problem.get("path", ""), lang)
    if template is None:
        return f"{field}: {problem.get('message', '')}"
    if lang == "ar":
        return template[1].format(field=field)  # the row's own cells beside it show the value
    text = template[0].format(field=field)
    return f"{text} — {problem.get('message', '')}" if problem.get("message") else text
