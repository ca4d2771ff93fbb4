"""The brand kit: logos, product photos and face or mascot sheets kept once and named ``@name``, plus
the brand's colours and a house-style sentence, for one account on one service.

An asset is a picture in the media store (``brand/<digest>.<ext>``); a request names it
``file:brand/...`` like any uploaded reference, so the engine puts it in GrsAI's storage once per
account and content and names it by URL after (``TaskEngine._file``). Forms accept such a name only
when it is an asset of the account sending it (:meth:`BrandKit.owns`).

Colours and the house style are one settings row per account (``brand_kit:<hash>``), as the price
table's overrides are: a small value read whole and written whole, last writer wins, with no table
of its own to migrate.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field

from .connection import Connection
from .db import BrandAsset, NameTaken, Status, Store
from .media import FILE_PREFIX, MediaStore
from .pictures import READ_ERRORS, PictureTooLarge, open_picture

KINDS = {
    "logo": "Logo",
    "product": "Product photo",
    "face": "Face sheet",
    "mascot": "Mascot sheet",
    "other": "Other",
}
MAX_ASSET_BYTES = (
    20 * 1024 * 1024
)  # 20 MB: a camera's photo fits; GrsAI's storage takes no more for a reference
NAME_CHARS = re.compile(r"[a-z0-9_-]{1,40}")
MAX_COLOURS = 6
MAX_HOUSE_STYLE = 300
SUFFIXES = {"PNG": ".png", "JPEG": ".jpg", "WEBP": ".webp", "GIF": ".gif"}
_HEX = re.compile(r"#[0-9a-fA-F]{6}")


SHEET_MODEL = "nano-banana-2"  # the catalogue's default image model; takes a reference picture
SHEET_PROMPT = (
    "A character sheet of {subject}: the same character three times side by side, seen from the front, "
    "from the side and from the back, full body, on a plain white background, even studio light, no text."
)
MAX_SUBJECT = 400


class BrandError(ValueError):
    """Input the kit will not keep, with the field it belongs beside; nothing was kept."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.message, self.field = message, field


@dataclass(frozen=True)
class BrandStyle:
    colours: list[str] = field(default_factory=list)  # "#rrggbb"
    house_style: str = ""


def asset_name(text: str) -> str:
    """The name as kept: without its "@", lower case (so "@Sneaker" and "@sneaker" are one asset);
    BrandError for an empty name or one with other characters than letters, digits, _ and -."""
    name = (text or "").strip().removeprefix("@").lower()
    if not name:
        raise BrandError("Give the asset a name, like sneaker (used as @sneaker).", "name")
    if not NAME_CHARS.fullmatch(name):
        raise BrandError(
            "A name has letters, digits, _ and - only (no spaces), at most 40 of them, like trail-sneaker.",
            "name",
        )
    return name


def with_house_style(prompt: str, style: BrandStyle) -> str:
    """The prompt with the house-style sentence after it (as it is when there is none, or it is there)."""
    sentence = style.house_style.strip()
    if not sentence or sentence in prompt:
        return prompt
    return f"{prompt.rstrip()} {sentence}".strip()


class BrandKit:
    def __init__(self, store: Store, media: MediaStore, connection: Connection) -> None:
        self.store, self.media, self.connection = store, media, connection

    @property
    def _owner(self) -> tuple[str, str]:
        return self.connection.service_id, self.connection.account or ""

    # -- assets ---------------------------------------------------------------------------------
    def assets(self) -> list[BrandAsset]:
        return self.store.brand_assets(*self._owner)

    def named(self, name: str) -> BrandAsset | None:
        try:
            return self.store.brand_asset_named(*self._owner, asset_name(name))
        except BrandError:
            return None

    def refs_by_name(self) -> dict[str, str]:
        """The kit as a Batch table names it: name (without "@") -> the request's ``file:`` reference."""
        return {asset.name: asset.ref for asset in self.assets()}

    def owns(self, ref: str) -> bool:
        """Whether a ``file:`` reference names a picture of this account's kit."""
        if not ref.startswith(FILE_PREFIX):
            return False
        return self.store.brand_asset_at(*self._owner, ref[len(FILE_PREFIX) :]) is not None

    def add(self, data: bytes, name: str, kind: str = "other") -> BrandAsset:
        """Check, keep and name one picture. BrandError (with the field) when the name is taken or
        not a name, the kind unknown, or the file not a picture or too large; nothing is kept then."""
        name = asset_name(name)
        if kind not in KINDS:
            raise BrandError(f"Choose what it is: {', '.join(KINDS.values()).lower()}.", "kind")
        if self.store.brand_asset_named(*self._owner, name) is not None:
            raise BrandError(f"@{name} is taken in this kit: choose another name or rename that one.", "name")
        suffix = _picture_suffix(data)
        kept = self.media.keep_upload(data, suffix, folder="brand")[len(FILE_PREFIX) :]
        thumb = self.media.make_image_thumbnail(
            kept, "brand-" + hashlib.sha256(kept.encode()).hexdigest()[:24]
        )
        try:
            return self.store.add_brand_asset(
                service=self._owner[0],
                account=self._owner[1],
                name=name,
                kind=kind,
                media_path=kept,
                thumb_path=thumb,
            )
        except NameTaken:  # another tab took the name meanwhile
            self._forget_files(kept, thumb)
            raise BrandError(
                f"@{name} is taken in this kit: choose another name or rename that one.", "name"
            ) from None

    def sheet_request(self, subject: str, mascot: bytes | None = None) -> dict:
        """The request of a front/side/back character sheet (Nano Banana) of a described character,
        or of an uploaded face-free mascot; BrandError beside the description when there is neither."""
        subject = " ".join((subject or "").split())
        if not subject and not mascot:
            raise BrandError("Describe the character, or upload a picture of the mascot.", "subject")
        if len(subject) > MAX_SUBJECT:
            raise BrandError(f"Keep the description under {MAX_SUBJECT} characters.", "subject")
        params: dict = {
            "model": SHEET_MODEL,
            "prompt": SHEET_PROMPT.format(subject=subject or "the mascot in the reference picture"),
            "aspect_ratio": "16:9",
        }
        if mascot:
            params["reference_urls"] = [mascot]
        return params

    def add_made(self, generation_id: int, name: str, kind: str = "mascot") -> BrandAsset:
        """Add the picture a finished image request made (a character sheet) to the kit, checked as
        an upload is; BrandError when it is not a finished picture of this account."""
        row = self.store.get(generation_id)
        kept = [f.get("path") for f in (row.files or []) if isinstance(f, dict)] if row is not None else []
        if (
            row is None
            or (row.service, row.account or "") != self._owner
            or row.status != Status.SUCCEEDED
            or not kept
            or not self.media.exists(kept[0])
        ):
            raise BrandError("This picture is not ready, or its file is gone: make it again.", "name")
        return self.add(self.media.read(kept[0]), name, kind)

    def rename(self, asset_id: int, new_name: str) -> BrandAsset:
        asset = self._mine(asset_id)
        name = asset_name(new_name)
        if name == asset.name:
            return asset
        try:
            self.store.rename_brand_asset(asset.id, name)
        except NameTaken:
            raise BrandError(f"@{name} is taken in this kit: choose another name.", "name") from None
        return self._mine(asset_id)

    def delete(self, asset_id: int) -> bool:
        """Remove an asset and its files (unless another asset keeps the same picture, or a request
        not sent yet or a storyboard under way still needs it). Requests already made with it keep
        what they were sent; new ones can no longer name it."""
        asset = self.store.brand_asset(asset_id)
        if asset is None or (asset.service, asset.account) != self._owner:
            return False
        removed = self.store.delete_brand_asset(asset_id)
        if removed is None:
            return False
        self._forget_files(removed.media_path, removed.thumb_path)
        return True

    def _mine(self, asset_id: int) -> BrandAsset:
        asset = self.store.brand_asset(asset_id)
        if asset is None or (asset.service, asset.account) != self._owner:
            raise BrandError("This asset is no longer in the kit.", "name")
        return asset

    def _forget_files(self, media_path: str, thumb_path: str | None) -> None:
        if not self.store.media_path_in_use(media_path) and not self.store.file_awaited(media_path):
            self.media.remove(media_path, thumb_path)

    # -- colours and house style ----------------------------------------------------------------
    def _setting(self) -> str:
        owner = "\n".join(self._owner).encode()
        return "brand_kit:" + hashlib.sha256(owner).hexdigest()[:24]

    def style(self) -> BrandStyle:
        try:
            raw = json.loads(self.store.get_setting(self._setting()) or "{}")
        except json.JSONDecodeError:
            raw = {}
        colours = [c for c in raw.get("colours", []) if isinstance(c, str) and _HEX.fullmatch(c)]
        house = raw.get("house_style") if isinstance(raw.get("house_style"), str) else ""
        return BrandStyle(colours=colours[:MAX_COLOURS], house_style=house)

    def save_style(self, colours: list[str], house_style: str) -> BrandStyle:
        bad = [c for c in colours if not _HEX.fullmatch(c or "")]
        if bad:
            raise BrandError(f"{bad[0]!r} is not a colour like #1a2b3c.", "colours")
        if len(colours) > MAX_COLOURS:
            raise BrandError(f"Keep at most {MAX_COLOURS} colours.", "colours")
        sentence = " ".join((house_style or "").split())
        if len(sentence) > MAX_HOUSE_STYLE:
            raise BrandError(
                f"The house style is {len(sentence)} characters; keep it under {MAX_HOUSE_STYLE}.",
                "house_style",
            )
        style = BrandStyle(colours=[c.lower() for c in colours], house_style=sentence)
        self.store.put_setting(
            self._setting(), json.dumps({"colours": style.colours, "house_style": sentence})
        )
        return style


def _picture_suffix(data: bytes) -> str:
    """The file's suffix from what it is; BrandError (beside the file) when it is too large, not a
    picture, or has too many pixels."""
    if len(data) > MAX_ASSET_BYTES:
        raise BrandError(
            f"This file is {len(data) / 1_048_576:.1f} MB; the most is {MAX_ASSET_BYTES // 1_048_576} MB.",
            "file",
        )
    try:
        with open_picture(data) as image:
            image.verify()
            kind = image.format
    except PictureTooLarge as exc:
        raise BrandError(f"{exc}: make it smaller and add it again.", "file") from None
    except READ_ERRORS:
        raise BrandError("This file is not a picture we can read (PNG, JPEG, WebP or GIF).", "file") from None
    if kind not in SUFFIXES:
        raise BrandError("Use a PNG, JPEG, WebP or GIF picture.", "file")
    return SUFFIXES[kind]


__all__ = [
    "KINDS",
    "MAX_ASSET_BYTES",
    "BrandError",
    "BrandKit",
    "BrandStyle",
    "asset_name",
    "with_house_style",
]
