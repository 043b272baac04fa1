"""The configuration every machine shares, kept in the database, and the database's own clock."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from service.clocks import database_now
from service.models import SharedSetting


class SharedConfiguration:
    sessions: sessionmaker[Session]

    def shared_settings(self) -> dict[str, str]:
        with self.sessions() as s:
            return {row.name: row.value for row in s.scalars(select(SharedSetting))}

    def write_shared_settings(self, values: Mapping[str, str], once: Mapping[str, str]) -> dict[str, str]:
        """Set `values`; add each of `once` only where it is not set yet (the first start's wins, even when
        two API processes start together); every shared setting as it now stands."""
        for _ in range(3):   # two first starts racing: the loser's INSERT fails, and it finds the winner's row
            try:
                with self.sessions.begin() as s:
                    for name, value in {**once, **values}.items():
                        row = s.get(SharedSetting, name)
                        if row is None:
                            s.add(SharedSetting(name=name, value=value))
                            s.flush()
                        elif name in values:
                            row.value = value
                break
            except IntegrityError:
                continue
        return self.shared_settings()

    def replace_shared_setting(self, name: str, expected: str, value: str) -> bool:
        """Set `name` to `value` if it still reads `expected` (one conditional UPDATE): False when another
        machine changed it first, so a read-modify-write of a shared setting loses nobody's change."""
        with self.sessions.begin() as s:
            changed = s.execute(update(SharedSetting).where(SharedSetting.name == name,
                                                            SharedSetting.value == expected).values(value=value))
            return changed.rowcount == 1

    def clock(self) -> datetime:
        """The database's time now: what every cross-machine deadline is computed from."""
        with self.sessions() as s:
            return database_now(s)
