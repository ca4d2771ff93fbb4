"""Showing one generation: its video and facts, the same on every page."""

from __future__ import annotations

import json
from datetime import datetime
from zoneinfo import ZoneInfo

import streamlit as st

from grsai_api import MODELS
from studio.db import FailureReason, Generation, Status, as_utc
from studio.library import KIND_LABELS, choice_words
from studio.media import MediaStore
from studio.messages import explain_failure

STATUS_BADGES = {  # colour and icon; the words are the status's own (Status.label)
    Status.QUEUED: ("gray", ":material/schedule:"),
    Status.SUBMITTING: ("gray", ":material/send:"),
    Status.RUNNING: ("blue", ":material/progress_activity:"),
    Status.SAVING: ("blue", ":material/download:"),
    Status.SUCCEEDED: ("green", ":material/check_circle:"),
    Status.FAILED: ("red", ":material/block:"),
    Status.UNKNOWN: ("orange", ":material/help:"),
    Status.CANCELLED: ("gray", ":material/cancel:"),
}


def clock(seconds: float) -> str:
    return f"{int(seconds) // 60}:{int(seconds) % 60:02d}"


def status_badge(generation: Generation) -> None:
    color, icon = STATUS_BADGES.get(generation.status, ("gray", None))
    st.badge(Status.label_of(generation.status), color=color, icon=icon)


def facts(generation: Generation) -> str:
    """ "Veo 3.1 Fast · 720p · 16:9 · 8 s · from an image"."""
    entry = MODELS.get(generation.model)
    options = generation.options or {}
    parts = [
        "Storyboard" if generation.kind == "storyboard" else (entry.name if entry is not None else generation.model),
        generation.aspect_ratio,
        f"{generation.duration} s" if generation.duration else "",
        choice_words(generation.size) if generation.size else "",
        options.get("resolution") or options.get("image_size") or "",
        f"{options['variants']} images" if int(options.get("variants") or 1) > 1 else "",
        "" if generation.kind == "storyboard" else KIND_LABELS.get(generation.kind, ""),  # said first
    ]
    return " · ".join(str(p) for p in parts if p)


def browser_zone() -> str:
    """The browser's time zone (st.context), UTC when it is not known."""
    try:
        zone = st.context.timezone
    except Exception:  # noqa: BLE001 - no browser (AppTest, a script)
        zone = None
    try:
        ZoneInfo(zone or "UTC")
    except (KeyError, ValueError):
        return "UTC"
    return zone or "UTC"


def local_time(moment: datetime, pattern: str = "%d %b %Y, %H:%M") -> str:
    return as_utc(moment).astimezone(ZoneInfo(browser_zone())).strftime(pattern)


def created(generation: Generation) -> str:
    return local_time(generation.created_at)


PORTRAIT_WIDTH = 320  # a 9:16 video this wide is 569 px tall: its buttons stay in view


def video_player(
    generation: Generation, media: MediaStore, *, autoplay: bool = False, loop: bool = False, muted: bool = False
) -> None:
    if media.exists(generation.video_path):
        portrait = generation.aspect_ratio in ("9:16", "portrait")
        st.video(
            media.source(generation.video_path),
            autoplay=autoplay,
            muted=autoplay or muted,
            loop=loop,
            width=PORTRAIT_WIDTH if portrait else "stretch",
        )
    elif generation.status == Status.SUCCEEDED:
        st.warning(
            generation.error or "The video file is missing from the media folder.",
            icon=":material/hide_source:",
        )


def download_button(generation: Generation, media: MediaStore, *, key: str, live: bool = False) -> None:
    if not media.exists(generation.video_path):
        return
    kept_download(
        media, generation.video_path, file_name=f"{generation.pid or generation.id}.mp4", mime="video/mp4", key=key, live=live
    )


def kept_download(
    media: MediaStore, relative: str, *, file_name: str, mime: str, key: str, live: bool, label: str = "Download", **style
) -> None:
    """A kept file's download button. ``live``: it is drawn in a part of the page redrawn every
    second. There, a file made on the click was dropped by the next redraw, or swept two redraws
    after it was made, so a click as the page redrew, or a slow browser, got nothing. So a live one
    gives the file itself, the same address on every redraw: a bucket's link that saves it, a
    folder's bytes (read for the run, as the player beside it reads them). Elsewhere the file is
    read only on the click."""
    if live and (link := media.download_url(relative, file_name)) is not None:
        st.link_button(label, link, icon=":material/download:", **style)
        return
    st.download_button(
        label,
        data=media.read(relative) if live else (lambda: media.read(relative)),
        file_name=file_name,
        mime=mime,
        icon=":material/download:",
        key=key,
        on_click="ignore",
        **style,
    )


def failure_note(generation: Generation) -> None:
    if generation.status == Status.FAILED:
        words = explain_failure(generation.failure_reason, generation.error, generation.cost)
        if generation.failure_reason == FailureReason.OUTPUT_MODERATION and generation.output_retries > 0:
            more = generation.output_retries
            words += f" It is being made again by itself ({more} more {'try' if more == 1 else 'tries'} at most)."
        st.error(words, icon=":material/block:")
    elif generation.status == Status.UNKNOWN:
        st.warning(
            "We could not tell whether the service received this request, so it was not sent again "
            "(every send is charged, so it counts as spent). If no video appears in your GrsAI account, "
            "send it again.",
            icon=":material/help:",
        )


# Turns each <video> inside a container keyed "preview_…" into a preview: no native controls over a
# small picture; it plays (muted) while the pointer is over it, a click plays it with sound or pauses
# it, a double click fills the screen, and it loops. A constant script, each video handled once.
_PREVIEW_SCRIPT = """
<script>
(() => {
  if (window.__studioPreviews) return;
  window.__studioPreviews = setInterval(() => {
    for (const v of document.querySelectorAll('[class*="st-key-preview_"] video')) {
      if (v.dataset.preview === '1') continue;
      v.dataset.preview = '1';
      v.controls = false; v.loop = true; v.muted = true; v.playsInline = true;
      v.style.cursor = 'pointer';
      v.title = 'Click to play or pause · double-click for full screen';
      let hovering = false;
      v.addEventListener('mouseenter', () => { if (v.paused) { hovering = true; v.play().catch(() => {}); } });
      v.addEventListener('mouseleave', () => { if (hovering) { hovering = false; v.pause(); } });
      v.addEventListener('click', (event) => {
        event.preventDefault();
        if (v.paused || hovering) { hovering = false; v.muted = false; v.play().catch(() => {}); } else { v.pause(); }
      });
      v.addEventListener('dblclick', () => { if (v.requestFullscreen) v.requestFullscreen(); });
    }
  }, 400);
})();
</script>
"""


def video_preview(generation: Generation, media: MediaStore) -> None:
    """A small video among others (the takes of one prompt): it loops and plays on a click or under
    the pointer, with no native controls covering it."""
    with st.container(key=f"preview_{generation.id}"):
        video_player(generation, media, loop=True, muted=True)
    st.html(_PREVIEW_SCRIPT, unsafe_allow_javascript=True)


# Links the <video>s inside one keyed container (two for Remix, up to four for Compare): play, pause
# and seek any one and the others follow (a seek of any size: a paused pair moved by less than the
# drift allowed stayed apart); one that drifts more than a quarter second from the first while they
# play is brought back. The script is a constant (no user text in it) and links each video once, however
# often the page is drawn again (a video drawn anew is linked when it appears).
_SYNC_SCRIPT = """
<script>
(() => {
  const key = %(key)s;
  const registry = window.__studioSync = window.__studioSync || {};
  if (registry[key]) return;
  registry[key] = setInterval(() => {
    const root = document.querySelector('.st-key-' + key);
    if (!root) return;
    const all = () => [...root.querySelectorAll('video')];
    const near = (x, y, by = 0.25) => Math.abs(x.currentTime - y.currentTime) < by;
    // a move made here to follow another video is not passed on when it ends: passed on, the end of
    // a follow moved the leader back if the leader had moved again meanwhile (seen in CI)
    const follow = (y, t) => { y.__following = t; y.currentTime = t; };
    for (const x of all()) {
      if (x.dataset.synced === '1') continue;
      x.dataset.synced = '1';
      const others = () => all().filter((y) => y !== x);
      // an ended one is brought along too: a remix that appeared after its original had played to
      // the end started alone, and the pair never played together (seen in CI)
      const lead = () => others().forEach((y) => {
        if (y.paused && x.currentTime < y.duration) { follow(y, x.currentTime); y.play().catch(() => {}); }
      });
      x.addEventListener('play', lead);
      if (!x.paused) lead();  // it started (autoplay) before it was linked: its 'play' has passed
      x.addEventListener('pause', () => { if (!x.ended) others().forEach((y) => { if (!y.paused) y.pause(); }); });
      x.addEventListener('seeked', () => {
        const followed = x.__following !== undefined && Math.abs(x.currentTime - x.__following) < 0.05;
        x.__following = undefined;
        if (followed || x.seeking) return;
        others().forEach((y) => { if (!near(x, y, 0.05) && x.currentTime < y.duration) follow(y, x.currentTime); });
      });
      x.addEventListener('timeupdate', () => {
        const [lead] = all();
        if (x === lead || x.paused || lead.paused || near(lead, x) || lead.currentTime >= x.duration) return;
        follow(x, lead.currentTime);
      });
    }
  }, 400);
})();
</script>
"""


def play_in_sync(key: str) -> None:
    """Keep the videos drawn inside ``st.container(key=key)`` playing together."""
    st.html(_SYNC_SCRIPT % {"key": json.dumps(key)}, unsafe_allow_javascript=True)
