"""Streaming indicators: TA-Lib-exact values updated one closed bar at a time.

Each indicator keeps running state (pure Python floats in ``__slots__``, no numpy per bar) and
after every :meth:`~StreamingIndicator.update` reports the value the batch function would give at
that bar over the whole history (``talib.<NAME>`` with its default seeding, or the quantdesk
definition for ``vwap``, ``supertrend``, ``keltner`` and ``donchian``), NaN through the warm-up.

    rsi = make_stream("rsi", timeperiod=14)
    for bar in bars:
        value = rsi.update(bar.open, bar.high, bar.low, bar.close, bar.volume)
    state = rsi.snapshot()                  # JSON-able; restore_stream(state) continues exactly

The arithmetic is TA-Lib 0.8's, operation for operation (fused multiply-adds, its shifted-sum
variance, its periodic WMA rebuild), so on the bundled TA-Lib the streamed values are bit-identical
to the batch ones. Updates are O(1), amortised O(1) for rolling highs and lows (monotonic deques),
WMA's periodic rebuild and the variance's re-centring (``stddev``, ``bbands``); ``cci`` is
O(timeperiod) per bar because its mean deviation revisits the window.

Multi-output indicators return tuples in the order of their ``outputs``: macd (macd, signal,
hist), bbands (upper, middle, lower), stoch (k, d), aroon (down, up), supertrend (supertrend,
direction, upper, lower), keltner and donchian (upper, middle, lower).
"""

from __future__ import annotations

from quantdesk.indicators.streaming._base import Output, StreamingIndicator
from quantdesk.indicators.streaming.custom import (
    DonchianStream,
    KeltnerStream,
    SupertrendStream,
    VwapStream,
)
from quantdesk.indicators.streaming.directional import (
    AdxStream,
    AroonoscStream,
    AroonStream,
    DxStream,
    MinusDiStream,
    PlusDiStream,
)
from quantdesk.indicators.streaming.engine import (
    StreamingEngine,
    make_stream,
    restore_stream,
    stream_class,
    stream_names,
)
from quantdesk.indicators.streaming.momentum import (
    CciStream,
    MacdStream,
    MfiStream,
    MomStream,
    RocStream,
    RsiStream,
    StochStream,
    WillrStream,
)
from quantdesk.indicators.streaming.overlap import (
    BbandsStream,
    DemaStream,
    EmaStream,
    KamaStream,
    SarStream,
    SmaStream,
    TemaStream,
    WmaStream,
)
from quantdesk.indicators.streaming.volume import (
    AdoscStream,
    AdStream,
    AtrStream,
    NatrStream,
    ObvStream,
    StddevStream,
    TrangeStream,
)

__all__ = [
    "AdStream",
    "AdoscStream",
    "AdxStream",
    "AroonStream",
    "AroonoscStream",
    "AtrStream",
    "BbandsStream",
    "CciStream",
    "DemaStream",
    "DonchianStream",
    "DxStream",
    "EmaStream",
    "KamaStream",
    "KeltnerStream",
    "MacdStream",
    "MfiStream",
    "MinusDiStream",
    "MomStream",
    "NatrStream",
    "ObvStream",
    "Output",
    "PlusDiStream",
    "RocStream",
    "RsiStream",
    "SarStream",
    "SmaStream",
    "StddevStream",
    "StochStream",
    "StreamingEngine",
    "StreamingIndicator",
    "SupertrendStream",
    "TemaStream",
    "TrangeStream",
    "VwapStream",
    "WillrStream",
    "WmaStream",
    "make_stream",
    "restore_stream",
    "stream_class",
    "stream_names",
]
