"""An amount in Chinese capital numerals (大写金额), as finance writes it on a voucher.

Capital numerals (壹贰叁 rather than 一二三) cannot be altered by adding a stroke, so a
printed claim carries the amount twice: the figure and its 大写. The wording follows the
People's Bank of China rules for payment documents (《支付结算办法》附件一):

- one 零 for a run of zeros inside the number (1,001 → 壹仟零壹元整; 100,001 → 壹拾万零壹元整),
  none for zeros at the end of a group (20,000 → 贰万元整);
- 拾 is always preceded by its digit (10 → 壹拾元整);
- 整 after 元 or 角 when there are no 分; none after 分;
- a zero 角 between 元 and 分 is written 零 (1.05 → 壹元零伍分); no 元 when there are none
  (0.50 → 伍角整);
- 万 and 亿 group the digits by four; 万亿 for 10¹² and above (壹万亿元整).

Pure: no Flask, no locale; the caller decides when to show it (amounts in 元).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

DIGITS = "零壹贰叁肆伍陆柒捌玖"
_PLACES = ("", "拾", "佰", "仟")
_YI = 10**8
_WAN = 10**4
#: Largest amount written: below 10¹⁶ 元 (9,999 万亿), far above any claim.
LIMIT = Decimal(10**16)


def capital_amount(amount: Decimal | int | str) -> str:
    """``Decimal("25000")`` → ``贰万伍仟元整``; rounded half up to the 分.

    Raises ``ValueError`` for something that is not a finite number, or 10¹⁶ 元 and above.
    """
    try:
        value = Decimal(str(amount)) if not isinstance(amount, Decimal) else amount
    except InvalidOperation:
        raise ValueError(f"not an amount: {amount!r}") from None
    if not value.is_finite():
        raise ValueError(f"not an amount: {amount!r}")
    cents = int((abs(value) * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    if cents >= LIMIT * 100:
        raise ValueError("amount too large to write in capital numerals")
    sign = "负" if value < 0 and cents else ""
    yuan, jiao, fen = cents // 100, cents // 10 % 10, cents % 10
    if not cents:
        return "零元整"
    words = f"{_integer(yuan)}元" if yuan else ""
    if jiao:
        words += f"{DIGITS[jiao]}角"
    elif yuan and fen:
        words += "零"
    words += f"{DIGITS[fen]}分" if fen else "整"
    return sign + words


def _integer(number: int) -> str:
    """A positive whole number: ``100100`` → ``壹拾万零壹佰``."""
    if number >= _YI:
        return _split(number, _YI, "亿")
    if number >= _WAN:
        return _split(number, _WAN, "万")
    return _group(number)


def _split(number: int, unit: int, name: str) -> str:
    """Above a unit: the part above, the unit's name, then the rest, with one 零 when the
    rest does not fill the place just below the unit (1,0000,0001 → 壹亿零壹)."""
    high, low = divmod(number, unit)
    words = _integer(high) + name
    if low:
        if low * 10 < unit:
            words += "零"
        words += _integer(low)
    return words


def _group(number: int) -> str:
    """1 to 9,999: ``1010`` → ``壹仟零壹拾``, ``1001`` → ``壹仟零壹``."""
    words = ""
    zero = False
    for place in range(3, -1, -1):
        digit = number // 10**place % 10
        if digit:
            if zero and words:
                words += "零"
            words += DIGITS[digit] + _PLACES[place]
            zero = False
        else:
            zero = True
    return words
