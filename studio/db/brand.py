"""The brand kit's assets: one row per picture of one account on one service, named once."""

from __future__ import annotations

from sqlalchemy import Text, cast, or_, select, update
from sqlalchemy.exc import IntegrityError

from .database import Database
from .models import BrandAsset, Generation, Storyboard
from .status import Status
from .storyboards import RUNNING
from .types import utcnow


class NameTaken(Exception):
    """Another asset of this account already has this name."""


class BrandQueries(Database):
    def add_brand_asset(
        self, *, service: str, account: str, name: str, kind: str, media_path: str, thumb_path: str | None
    ) -> BrandAsset:
        """NameTaken when the account has an asset of that name (the unique constraint decides, so two
        tabs adding one name at once keep one)."""
        values = BrandAsset(
            service=service,
            account=account,
            name=name,
            kind=kind,
            media_path=media_path,
            thumb_path=thumb_path,
            created_at=utcnow(),
        )
        try:
            with self.session() as session, session.begin():
                session.add(values)
                session.flush()
                row_id = values.id
        except IntegrityError:
            raise NameTaken(name) from None
        return self.brand_asset(row_id)

    def brand_asset(self, row_id: int) -> BrandAsset | None:
        with self.session() as session:
            return session.get(BrandAsset, row_id)

    def brand_assets(self, service: str, account: str) -> list[BrandAsset]:
        """The account's kit, by name."""
        with self.session() as session:
            return list(
                session.scalars(
                    select(BrandAsset)
                    .where(BrandAsset.service == service, BrandAsset.account == account)
                    .order_by(BrandAsset.name)
                )
            )

    def brand_asset_named(self, service: str, account: str, name: str) -> BrandAsset | None:
        with self.session() as session:
            return session.scalars(
                select(BrandAsset).where(
                    BrandAsset.service == service, BrandAsset.account == account, BrandAsset.name == name
                )
            ).first()

    def brand_asset_at(self, service: str, account: str, media_path: str) -> BrandAsset | None:
        """The account's asset kept at this media path (a request naming ``file:<path>``)."""
        with self.session() as session:
            return session.scalars(
                select(BrandAsset).where(
                    BrandAsset.service == service,
                    BrandAsset.account == account,
                    BrandAsset.media_path == media_path,
                )
            ).first()

    def rename_brand_asset(self, row_id: int, name: str) -> bool:
        """NameTaken when the account has another asset of that name; False when the asset is gone."""
        try:
            with self.session() as session, session.begin():
                done = session.execute(update(BrandAsset).where(BrandAsset.id == row_id).values(name=name))
        except IntegrityError:
            raise NameTaken(name) from None
        return done.rowcount == 1

    def delete_brand_asset(self, row_id: int) -> BrandAsset | None:
        """The row removed (for its files), or None when another tab removed it first."""
        with self.session() as session, session.begin():
            asset = session.get(BrandAsset, row_id, with_for_update=True)
            if asset is not None:
                session.delete(asset)
            return asset

    def media_path_in_use(self, media_path: str) -> bool:
        """Whether any asset (of any account) keeps this file: a file kept by content is shared."""
        with self.session() as session:
            return (
                session.scalars(select(BrandAsset.id).where(BrandAsset.media_path == media_path)).first()
                is not None
            )

    def file_awaited(self, media_path: str) -> bool:
        """Whether a request not sent yet, or a storyboard still making its shots, names this kept
        file (``file:<media_path>``): the engine will need its bytes to send it."""
        needle = f"%file:{media_path}%"
        with self.session() as session:
            waiting = session.scalars(
                select(Generation.id).where(
                    Generation.status.in_((Status.QUEUED, Status.SUBMITTING)),
                    or_(cast(Generation.options, Text).like(needle), Generation.image_ref.like(needle)),
                )
            ).first()
            boards = session.scalars(
                select(Storyboard.id).where(Storyboard.state == RUNNING, cast(Storyboard.shots, Text).like(needle))
            ).first()
        return waiting is not None or boards is not None
