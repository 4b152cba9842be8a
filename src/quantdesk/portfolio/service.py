"""The portfolio service: portfolios, their ledgers, CSV imports and analytics, per owner.

Access
    Every method takes the caller's :class:`~quantdesk.auth.models.Principal`. Reads need
    ``portfolio:read`` and changes ``portfolio:write`` (:class:`PermissionDenied` otherwise). A
    portfolio is visible to its owner and to administrators; anyone else gets
    :class:`~quantdesk.core.errors.NotFound`, never "forbidden", so other users' portfolios do
    not reveal that they exist.

Writes
    Each change runs in one store transaction: a batch or an import is validated against the
    stored ledger (:func:`~quantdesk.portfolio.ledger.validate`, with today's date from the
    injected clock and the symbols the market-data service knows) and written completely or
    not at all. After it commits, the change is audited through the ``record`` callable
    (``portfolio.create``, ``portfolio.update``, ``portfolio.delete``,
    ``portfolio.transaction``, ``portfolio.import``, ``portfolio.fx_rates``).

Analytics
    Holdings, performance, optimisation and rebalancing come from
    :class:`~quantdesk.portfolio.analytics.PortfolioAnalytics`, which the service extends;
    that module says how prices and FX rates are used.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from typing import Any, Protocol

from quantdesk.auth.models import AuditContext, Principal
from quantdesk.auth.rbac import Permission
from quantdesk.core.clock import Clock
from quantdesk.core.errors import Issue, NotFound, PermissionDenied, ValidationError
from quantdesk.core.ids import new_id
from quantdesk.data.service import MarketDataService
from quantdesk.domain import Instrument, normalize_symbol
from quantdesk.domain.portfolio import (
    MONEY_CONTEXT,
    LotMethod,
    Transaction,
    TransactionType,
    is_currency,
)
from quantdesk.portfolio.analytics import (
    MIN_OBSERVATIONS,
    BenchmarkReport,
    OptimizationSpec,
    PortfolioAnalytics,
    PortfolioHoldings,
    PortfolioOptimization,
    PortfolioPerformance,
    PortfolioRebalance,
    PriceQuote,
)
from quantdesk.portfolio.imports import ImportPreset, parse_transactions_csv
from quantdesk.portfolio.ledger import check_transaction, replay, validate
from quantdesk.portfolio.ports import (
    MAX_DECIMAL_PLACES,
    MAX_INTEGER_DIGITS,
    FxRate,
    Portfolio,
    PortfolioStore,
)

__all__ = [
    "MAX_PAGE",
    "MIN_OBSERVATIONS",
    "NAME_MAX",
    "NOTE_MAX",
    "AuditRecorder",
    "BenchmarkReport",
    "ImportOutcome",
    "OptimizationSpec",
    "PortfolioHoldings",
    "PortfolioOptimization",
    "PortfolioPerformance",
    "PortfolioRebalance",
    "PortfolioService",
    "PriceQuote",
    "portfolio_summary",
    "transaction_summary",
]

NAME_MAX = 100
NOTE_MAX = 500
MAX_PAGE = 1000
_TX_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:\-]{0,63}$")
_NO_CONTEXT = AuditContext()


class AuditRecorder(Protocol):
    """Appends an audit entry (``AuthService.record`` fits)."""

    def __call__(
        self,
        action: str,
        *,
        actor: Principal | None,
        context: AuditContext,
        target: str | None = None,
        before: dict[str, Any] | None = None,
        after: dict[str, Any] | None = None,
    ) -> None: ...


# --------------------------------------------------------------------------- results


@dataclass(frozen=True, slots=True)
class ImportOutcome:
    """What an import stored (or, for a dry run, would store) and every row problem.

    ``transactions`` are the accepted rows in file order (with their ``row_numbers``); after a
    commit they carry their stored ids. ``written`` is 0 for a dry run.
    """

    preset: ImportPreset
    dry_run: bool
    skip_bad_rows: bool
    rows_read: int
    rows_ignored: int
    transactions: tuple[Transaction, ...]
    row_numbers: tuple[int, ...]
    issues: tuple[Issue, ...]
    written: int

    @property
    def rows_bad(self) -> int:
        """Return how many rows have at least one issue."""
        return len({issue.row for issue in self.issues})

    @property
    def committable(self) -> bool:
        """Return whether a commit would store the accepted rows."""
        return not self.issues or self.skip_bad_rows


# --------------------------------------------------------------------------- helpers


def _text(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, date):
        return value.isoformat()
    return value


def portfolio_summary(portfolio: Portfolio) -> dict[str, Any]:
    """Return the audited view of a portfolio's settings."""
    return {
        "name": portfolio.name,
        "owner_id": portfolio.owner_id,
        "base_currency": portfolio.base_currency,
        "benchmark_symbol": portfolio.benchmark_symbol,
        "lot_method": portfolio.lot_method.value,
        "allow_short": portfolio.allow_short,
    }


def transaction_summary(tx: Transaction) -> dict[str, Any]:
    """Return the audited view of a transaction (amounts as exact decimal strings)."""
    return {
        "id": tx.id,
        "type": tx.type.value,
        "trade_date": tx.trade_date.isoformat(),
        "symbol": tx.symbol,
        "quantity": _text(tx.quantity),
        "price": _text(tx.price),
        "fees": _text(tx.fees),
        "currency": tx.currency,
    }


def _digits_issue(value: Decimal, name: str, location: str, row: int | None) -> Issue | None:
    if not value.is_finite():
        return None  # reported by the field rules
    exponent = value.normalize(MONEY_CONTEXT).as_tuple().exponent
    places = -exponent if isinstance(exponent, int) and exponent < 0 else 0
    if places > MAX_DECIMAL_PLACES:
        return Issue(
            location,
            f"{value} has {places} decimal places; at most {MAX_DECIMAL_PLACES} are stored",
            field=name,
            row=row,
        )
    if value != 0 and value.adjusted() >= MAX_INTEGER_DIGITS:
        return Issue(
            location,
            f"{value} is too large; at most {MAX_INTEGER_DIGITS} digits before the point",
            field=name,
            row=row,
        )
    return None


def _storage_issues(tx: Transaction, location: str, row: int | None) -> list[Issue]:
    issues = [
        issue
        for name in ("quantity", "price", "fees")
        if (issue := _digits_issue(getattr(tx, name), name, location, row)) is not None
    ]
    if len(tx.note) > NOTE_MAX:
        issues.append(
            Issue(
                location, f"the note has {len(tx.note)} characters; {NOTE_MAX} at most", "note", row
            )
        )
    if tx.id is not None and not _TX_ID.match(tx.id):
        issues.append(
            Issue(
                location,
                f"id {tx.id!r} must be 1-64 letters, digits or _ . : - starting with a letter "
                "or digit",
                field="id",
                row=row,
            )
        )
    return issues


def _currency_issue(code: str, location: str) -> list[Issue]:
    if is_currency(code):
        return []
    return [Issue(location, f"{code!r} is not an ISO 4217 currency code", field=location)]


# --------------------------------------------------------------------------- service


class PortfolioService(PortfolioAnalytics):
    """Portfolios and their ledgers over a :class:`PortfolioStore` and the market data.

    Parameters
    ----------
    store
        Where portfolios, transactions and FX rates live.
    market
        Instruments, latest prices and daily history.
    clock
        Today's date for validation and valuation.
    record
        Audit recorder, e.g. ``AuthService.record``.
    """

    def __init__(
        self,
        store: PortfolioStore,
        market: MarketDataService,
        clock: Clock,
        record: AuditRecorder,
    ) -> None:
        super().__init__(store, market, clock)
        self._record = record

    # -- audit -------------------------------------------------------------------------------

    def _audit(
        self,
        action: str,
        principal: Principal,
        context: AuditContext,
        portfolio_id: str,
        *,
        before: dict[str, Any] | None = None,
        after: dict[str, Any] | None = None,
    ) -> None:
        self._record(
            action,
            actor=principal,
            context=context,
            target=f"portfolio:{portfolio_id}",
            before=before,
            after=after,
        )

    # -- portfolios --------------------------------------------------------------------------

    def _check_settings(
        self, name: str, base_currency: str, benchmark: str | None
    ) -> tuple[str, str, str | None]:
        issues: list[Issue] = []
        clean_name = " ".join(name.split())
        if not clean_name or len(clean_name) > NAME_MAX:
            issues.append(Issue("name", f"give a name of 1-{NAME_MAX} characters", field="name"))
        currency = base_currency.strip().upper()
        issues.extend(_currency_issue(currency, "base_currency"))
        symbol: str | None = None
        if benchmark is not None and benchmark.strip():
            try:
                symbol = self._market.resolve(benchmark).symbol
            except NotFound as exc:
                issues.append(Issue("benchmark_symbol", exc.message, field="benchmark_symbol"))
        if issues:
            raise ValidationError("invalid portfolio settings", issues)
        return clean_name, currency, symbol

    def create_portfolio(
        self,
        principal: Principal,
        *,
        name: str,
        base_currency: str = "USD",
        benchmark_symbol: str | None = None,
        lot_method: LotMethod | str = LotMethod.FIFO,
        allow_short: bool = False,
        owner_id: str | None = None,
        context: AuditContext = _NO_CONTEXT,
    ) -> Portfolio:
        """Create a portfolio owned by the caller (admins may name another ``owner_id``).

        Raises
        ------
        ValidationError
            A blank or long name, an unknown currency, benchmark or lot method.
        Conflict
            The owner already has a portfolio of that name.
        """
        self._require(principal, Permission.PORTFOLIO_WRITE)
        owner = owner_id or principal.user_id
        if owner != principal.user_id and not principal.is_admin:
            raise PermissionDenied("only administrators create portfolios for other users")
        method = _lot_method(lot_method)
        clean_name, currency, benchmark = self._check_settings(
            name, base_currency, benchmark_symbol
        )
        now = self._clock.now()
        portfolio = Portfolio(
            id=new_id("pf"),
            owner_id=owner,
            name=clean_name,
            base_currency=currency,
            benchmark_symbol=benchmark,
            lot_method=method,
            allow_short=allow_short,
            created_at=now,
            updated_at=now,
        )
        with self._store.transaction() as uow:
            uow.add_portfolio(portfolio)
        self._audit(
            "portfolio.create", principal, context, portfolio.id, after=portfolio_summary(portfolio)
        )
        return portfolio

    def list_portfolios(
        self, principal: Principal, *, all_users: bool = False, offset: int = 0, limit: int = 100
    ) -> tuple[list[Portfolio], int]:
        """Return a page of the caller's portfolios (every user's for an admin asking for all)
        and the total count."""
        self._require(principal, Permission.PORTFOLIO_READ)
        _check_page(offset, limit)
        owner = None if all_users and principal.is_admin else principal.user_id
        with self._store.transaction() as uow:
            return uow.list_portfolios(owner, offset=offset, limit=limit), uow.count_portfolios(
                owner
            )

    def get_portfolio(self, principal: Principal, portfolio_id: str) -> Portfolio:
        """Return a portfolio the caller may see; raise :class:`NotFound` otherwise."""
        self._require(principal, Permission.PORTFOLIO_READ)
        with self._store.transaction() as uow:
            return self._load(uow, principal, portfolio_id)

    def update_portfolio(
        self,
        principal: Principal,
        portfolio_id: str,
        *,
        name: str | None = None,
        base_currency: str | None = None,
        benchmark_symbol: str | None = None,
        clear_benchmark: bool = False,
        lot_method: LotMethod | str | None = None,
        allow_short: bool | None = None,
        context: AuditContext = _NO_CONTEXT,
    ) -> Portfolio:
        """Change a portfolio's settings; ``None`` keeps a setting, ``clear_benchmark`` drops
        the benchmark.

        Raises
        ------
        ValidationError
            Invalid settings, or a lot method / short-selling switch the stored transactions
            cannot be replayed with (e.g. turning shorting off while a short is recorded).
        """
        self._require(principal, Permission.PORTFOLIO_WRITE)
        method = _lot_method(lot_method) if lot_method is not None else None
        with self._store.transaction() as uow:
            current = self._load(uow, principal, portfolio_id, lock=True)
            benchmark = None if clear_benchmark else (benchmark_symbol or current.benchmark_symbol)
            clean_name, currency, symbol = self._check_settings(
                name if name is not None else current.name,
                base_currency if base_currency is not None else current.base_currency,
                benchmark,
            )
            updated = replace(
                current,
                name=clean_name,
                base_currency=currency,
                benchmark_symbol=symbol,
                lot_method=method or current.lot_method,
                allow_short=current.allow_short if allow_short is None else allow_short,
                updated_at=self._clock.now(),
            )
            if (updated.lot_method, updated.allow_short) != (
                current.lot_method,
                current.allow_short,
            ):
                _replayable(
                    uow.list_transactions(portfolio_id),
                    updated,
                    "allow_short" if updated.lot_method == current.lot_method else "lot_method",
                )
            uow.update_portfolio(updated)
        self._audit(
            "portfolio.update",
            principal,
            context,
            portfolio_id,
            before=portfolio_summary(current),
            after=portfolio_summary(updated),
        )
        return updated

    def delete_portfolio(
        self, principal: Principal, portfolio_id: str, *, context: AuditContext = _NO_CONTEXT
    ) -> None:
        """Delete a portfolio and every transaction in it."""
        self._require(principal, Permission.PORTFOLIO_WRITE)
        with self._store.transaction() as uow:
            portfolio = self._load(uow, principal, portfolio_id, lock=True)
            count = uow.count_transactions(portfolio_id)
            uow.delete_portfolio(portfolio_id)
        before = {**portfolio_summary(portfolio), "transactions": count}
        self._audit("portfolio.delete", principal, context, portfolio_id, before=before)

    # -- transactions ------------------------------------------------------------------------

    def _instruments(self, symbols: Iterable[str | None]) -> dict[str, Instrument | None]:
        found: dict[str, Instrument | None] = {}
        for raw in symbols:
            if raw is None:
                continue
            try:
                symbol = normalize_symbol(raw)
            except ValueError:
                continue  # the field rules report malformed symbols
            if symbol in found:
                continue
            try:
                found[symbol] = self._market.resolve(symbol)
            except NotFound:
                found[symbol] = None
        return found

    def _issues(
        self,
        portfolio: Portfolio,
        existing: Sequence[Transaction],
        items: Sequence[Transaction],
        instruments: Mapping[str, Instrument | None],
        *,
        single: bool,
        row_numbers: Sequence[int] | None = None,
    ) -> list[Issue]:
        def label(i: int) -> tuple[str, int | None]:
            if single:
                return "transaction", None
            if row_numbers is not None:
                return f"row {row_numbers[i]}", row_numbers[i]
            return f"transactions[{i}]", i

        today = self.today()

        def known(symbol: str) -> bool:
            return instruments.get(symbol) is not None

        issues: list[Issue] = []
        stored_ids = {tx.id for tx in existing}
        seen: set[str] = set()
        clean: list[int] = []
        for i, tx in enumerate(items):
            location, row = label(i)
            own = _storage_issues(tx, location, row)
            if tx.id is not None:
                if tx.id in stored_ids:
                    reason = f"id {tx.id!r} is already in this portfolio (imported before?)"
                    own.append(Issue(location, reason, field="id", row=row))
                elif tx.id in seen:
                    reason = f"id {tx.id!r} appears twice in this batch"
                    own.append(Issue(location, reason, field="id", row=row))
                seen.add(tx.id)
            instrument = instruments.get(tx.symbol) if tx.symbol is not None else None
            if (
                instrument is not None
                and tx.type is not TransactionType.SPLIT
                and tx.currency != instrument.currency
            ):
                reason = (
                    f"{instrument.symbol} is priced in {instrument.currency}, not "
                    f"{tx.currency}; record its trades in {instrument.currency}"
                )
                own.append(Issue(location, reason, field="currency", row=row))
            if own and not single:
                # Keep the row out of the ledger checks so it is not blamed on later rows.
                issues.extend(own)
                issues.extend(
                    check_transaction(
                        tx, as_of=today, known_symbols=known, location=location, row=row
                    )
                )
            else:
                issues.extend(own)
                clean.append(i)
        if not clean:
            return issues
        try:
            if single:
                validate(
                    items[0],
                    existing,
                    as_of=today,
                    known_symbols=known,
                    allow_short=portfolio.allow_short,
                )
            else:
                validate(
                    [items[i] for i in clean],
                    existing,
                    as_of=today,
                    known_symbols=known,
                    allow_short=portfolio.allow_short,
                    row_numbers=[row_numbers[i] if row_numbers is not None else i for i in clean],
                )
        except ValidationError as exc:
            for issue in exc.issues:
                if not single and row_numbers is None and issue.row is not None:
                    issue = replace(issue, location=f"transactions[{issue.row}]")
                issues.append(issue)
        return sorted(issues, key=lambda issue: issue.row if issue.row is not None else -1)

    def add_transaction(
        self,
        principal: Principal,
        portfolio_id: str,
        transaction: Transaction,
        *,
        context: AuditContext = _NO_CONTEXT,
    ) -> Transaction:
        """Validate and store one transaction; return it with its id (issues at
        ``transaction``)."""
        return self._add(principal, portfolio_id, [transaction], single=True, context=context)[0]

    def add_transactions(
        self,
        principal: Principal,
        portfolio_id: str,
        transactions: Sequence[Transaction],
        *,
        context: AuditContext = _NO_CONTEXT,
    ) -> list[Transaction]:
        """Validate and store a batch atomically: one bad transaction and nothing is written.

        Raises
        ------
        ValidationError
            With every issue, located ``transactions[i]`` (``row = i``).
        """
        return self._add(principal, portfolio_id, transactions, single=False, context=context)

    def _add(
        self,
        principal: Principal,
        portfolio_id: str,
        transactions: Sequence[Transaction],
        *,
        single: bool,
        context: AuditContext,
    ) -> list[Transaction]:
        self._require(principal, Permission.PORTFOLIO_WRITE)
        items = list(transactions)
        if not items:
            raise ValidationError(
                "nothing to add", [Issue("transactions", "give at least one transaction")]
            )
        instruments = self._instruments(tx.symbol for tx in items)
        with self._store.transaction() as uow:
            portfolio = self._load(uow, principal, portfolio_id, lock=True)
            existing = uow.list_transactions(portfolio_id)
            issues = self._issues(portfolio, existing, items, instruments, single=single)
            if issues:
                what = "transaction rejected" if single else "batch rejected, nothing was written"
                raise ValidationError(what, issues)
            stored = [tx if tx.id is not None else replace(tx, id=new_id("tx")) for tx in items]
            _replayable(
                [*existing, *stored], portfolio, "transaction" if single else "transactions"
            )
            uow.add_transactions(portfolio_id, stored, created_at=self._clock.now())
        after: dict[str, Any] = {
            "count": len(stored),
            "transactions": [transaction_summary(tx) for tx in stored[:50]],
        }
        self._audit("portfolio.transaction", principal, context, portfolio_id, after=after)
        return stored

    def list_transactions(
        self, principal: Principal, portfolio_id: str, *, offset: int = 0, limit: int = 100
    ) -> tuple[list[Transaction], int]:
        """Return a page of transactions in entry order and the total count."""
        self._require(principal, Permission.PORTFOLIO_READ)
        _check_page(offset, limit)
        with self._store.transaction() as uow:
            self._load(uow, principal, portfolio_id)
            page = uow.list_transactions(portfolio_id, offset=offset, limit=limit)
            return page, uow.count_transactions(portfolio_id)

    def import_csv(
        self,
        principal: Principal,
        portfolio_id: str,
        data: str | bytes,
        *,
        preset: ImportPreset | str = ImportPreset.GENERIC,
        dry_run: bool = False,
        skip_bad_rows: bool = False,
        currency: str | None = None,
        context: AuditContext = _NO_CONTEXT,
    ) -> ImportOutcome:
        """Import a transactions CSV (see :mod:`quantdesk.portfolio.imports` for the layouts).

        Every row is checked on its own and against the stored ledger (holdings at each
        date, the symbol's currency, ids already imported). A dry run reports and writes
        nothing. A commit writes nothing when any row fails, unless ``skip_bad_rows``: then
        the good rows (those still consistent once the bad ones are left out) are written in
        one transaction.

        Raises
        ------
        ValidationError
            The file cannot be read, or (commit without ``skip_bad_rows``) some rows fail; the
            issues are located ``row N`` with the column in ``field``.
        """
        self._require(
            principal, Permission.PORTFOLIO_READ if dry_run else Permission.PORTFOLIO_WRITE
        )
        try:
            kind = ImportPreset(preset)
        except ValueError:
            valid = ", ".join(p.value for p in ImportPreset)
            raise ValidationError(
                "unknown preset", [Issue("preset", f"{preset!r}; use one of {valid}", "preset")]
            ) from None
        portfolio = self.get_portfolio(principal, portfolio_id)
        account_currency = (currency or portfolio.base_currency).strip().upper()
        if issues := _currency_issue(account_currency, "currency"):
            raise ValidationError("invalid currency", issues)
        cache: dict[str, Instrument | None] = {}

        def known(symbol: str) -> bool:
            if symbol not in cache:
                cache.update(self._instruments([symbol]))
            return cache.get(symbol) is not None

        preview = parse_transactions_csv(
            data,
            preset=kind,
            skip_bad_rows=skip_bad_rows,
            currency=account_currency,
            as_of=self.today(),
            known_symbols=known,
        )
        with self._store.transaction() as uow:
            portfolio = self._load(uow, principal, portfolio_id, lock=not dry_run)
            existing = uow.list_transactions(portfolio_id)
            accepted = list(range(len(preview.transactions)))
            issues = list(preview.issues)
            while accepted:
                rows = [preview.row_numbers[i] for i in accepted]
                found = self._issues(
                    portfolio,
                    existing,
                    [preview.transactions[i] for i in accepted],
                    cache,
                    single=False,
                    row_numbers=rows,
                )
                if not found:
                    break
                issues.extend(found)
                bad = {issue.row for issue in found}
                keep = [i for i in accepted if preview.row_numbers[i] not in bad]
                if len(keep) == len(accepted):
                    keep = []  # an issue without a row: nothing can be trusted
                accepted = keep
                if not skip_bad_rows:
                    break
            issues.sort(key=lambda issue: issue.row if issue.row is not None else 0)
            chosen = [preview.transactions[i] for i in accepted]
            numbers = tuple(preview.row_numbers[i] for i in accepted)
            rows_bad = len({issue.row for issue in issues})
            if not dry_run:
                if issues and not skip_bad_rows:
                    raise ValidationError(
                        f"{rows_bad} of {preview.rows_read} rows cannot be imported, nothing "
                        "was written (fix them, or skip bad rows)",
                        issues,
                    )
                chosen = [
                    tx if tx.id is not None else replace(tx, id=new_id("tx")) for tx in chosen
                ]
                if chosen:
                    _replayable([*existing, *chosen], portfolio, "file")
                    uow.add_transactions(portfolio_id, chosen, created_at=self._clock.now())
        outcome = ImportOutcome(
            preset=kind,
            dry_run=dry_run,
            skip_bad_rows=skip_bad_rows,
            rows_read=preview.rows_read,
            rows_ignored=preview.rows_ignored,
            transactions=tuple(chosen),
            row_numbers=numbers,
            issues=tuple(issues),
            written=0 if dry_run else len(chosen),
        )
        if not dry_run:
            after = {
                "preset": kind.value,
                "rows_read": outcome.rows_read,
                "written": outcome.written,
                "rows_skipped": outcome.rows_bad,
            }
            self._audit("portfolio.import", principal, context, portfolio_id, after=after)
        return outcome

    # -- FX ----------------------------------------------------------------------------------

    def add_fx_rates(
        self, principal: Principal, rates: Sequence[FxRate], *, context: AuditContext = _NO_CONTEXT
    ) -> int:
        """Store daily FX rates (administrators only); a rate for the same day is replaced.

        Raises
        ------
        ValidationError
            Unknown currencies, a currency quoted against itself, non-positive or
            over-precise rates (issues at ``rates[i]``).
        """
        if not principal.is_admin:
            raise PermissionDenied("only administrators maintain FX rates")
        issues: list[Issue] = []
        clean: list[FxRate] = []
        for i, rate in enumerate(rates):
            location = f"rates[{i}]"
            currency, quote = rate.currency.strip().upper(), rate.quote_currency.strip().upper()
            for name, code in (("currency", currency), ("quote_currency", quote)):
                if not is_currency(code):
                    issues.append(Issue(location, f"{code!r} is not an ISO 4217 code", name, i))
            if currency == quote:
                issues.append(
                    Issue(location, "a currency needs no rate against itself", "quote_currency", i)
                )
            if not rate.rate.is_finite() or rate.rate <= 0:
                issues.append(Issue(location, f"rate {rate.rate} must be positive", "rate", i))
            elif (problem := _digits_issue(rate.rate, "rate", location, i)) is not None:
                issues.append(problem)
            clean.append(FxRate(currency, quote, rate.day, rate.rate))
        if issues:
            raise ValidationError("invalid FX rates", issues)
        with self._store.transaction() as uow:
            count = uow.put_fx_rates(clean)
        pairs = sorted({f"{r.currency}/{r.quote_currency}" for r in clean})
        self._record(
            "portfolio.fx_rates",
            actor=principal,
            context=context,
            target="fx_rates",
            after={"count": count, "pairs": pairs},
        )
        return count


# --------------------------------------------------------------------------- module helpers


def _check_page(offset: int, limit: int) -> None:
    issues = []
    if offset < 0:
        issues.append(Issue("offset", "must be 0 or more", field="offset"))
    if not 1 <= limit <= MAX_PAGE:
        issues.append(Issue("limit", f"must be between 1 and {MAX_PAGE}", field="limit"))
    if issues:
        raise ValidationError("invalid page", issues)


def _lot_method(value: LotMethod | str) -> LotMethod:
    try:
        return LotMethod(value)
    except ValueError:
        valid = ", ".join(m.value for m in LotMethod)
        raise ValidationError(
            "unknown lot method",
            [Issue("lot_method", f"{value!r}; use one of {valid}", "lot_method")],
        ) from None


def _replayable(transactions: Sequence[Transaction], portfolio: Portfolio, location: str) -> None:
    """Raise a ValidationError when the ledger would not replay with ``portfolio``'s settings."""
    try:
        replay(
            transactions,
            base_currency=portfolio.base_currency,
            lot_method=portfolio.lot_method,
            allow_short=portfolio.allow_short,
        )
    except ValidationError as exc:
        reason = exc.issues[0].reason if exc.issues else exc.message
        raise ValidationError(
            "the transactions do not fit the portfolio's settings", [Issue(location, reason)]
        ) from None
