"""What keeps a shared explorer server up: threads and queue sizes for a 2-vCPU Space, caps on uploads, sessions
and cached files, and the admission gate that turns a flood of expensive requests away early.

Every figure here is applied by `infogan.explorer.ui.launch` / `build_demo`; `docs/reliability.md` says why each.
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable

from PIL import Image

THREADS = 1  # torch threads per request; with CONCURRENCY = 2 this fills a 2-vCPU Space without oversubscribing
CONCURRENCY = 2
QUEUE_SIZE = 256  # enough for the 50-client load test; beyond it users get "queue full" instead of a long wait
# Traversals (~20 renders + a GIF each) and encodes (an upload decoded) run one at a time in their own lanes, and
# at most HEAVY_WAITING of each may wait: a flood of them is turned away at once instead of filling the shared
# queue, so /generate and the sliders keep their places.
HEAVY_WAITING = 16
# Gradio keeps per-session state (each API call is a new session): 10,000 sessions by default, ~96 KB each.
STATE_SESSIONS = 500
MAX_FILE_SIZE = "10mb"  # uploads; a photo is a few MB and the models see 28–64 pixels
CACHE_MAX_BYTES = 256 * 2**20  # rendered PNGs in Gradio's cache: the oldest go beyond this size …
CACHE_MAX_AGE_S = 600  # … or after 10 minutes (checked every 60 s)
# Decoded-pixel cap for uploads, checked from the image header before any pixel is decoded: a 24-megapixel photo
# (6000×4000) is accepted, a 263 KB PNG of 13,000×13,000 (1.2–1.5 GB once decoded) is not.
MAX_UPLOAD_PIXELS = 24_000_000


def check_upload_pixels(image: Image.Image) -> None:
    """ValueError naming the size and the limit when `image` (opened, not yet decoded) has too many pixels."""
    if image.width * image.height > MAX_UPLOAD_PIXELS:
        raise ValueError(too_many_pixels_message(image.size))


def too_many_pixels_message(size: tuple[int, int] | None) -> str:
    """The refusal for an oversized upload; `size` None when PIL refused the header before reporting a size."""
    shown = f" is {size[0]:,}×{size[1]:,} pixels;" if size else " has too many pixels;"
    return (f"the image{shown} the limit is {MAX_UPLOAD_PIXELS / 1e6:g} megapixels. Resize it (the models see 28–64 "
            "pixels anyway) and upload it again")  # fmt: skip


class AdmissionGate:
    """Admits a request while fewer than `limit` are waiting, counting `waiting()` (the queue's own count) plus the
    requests admitted in the last `window_s` seconds, which may not have reached the queue yet (admission checks
    run concurrently, so the queue's count alone lets a burst through)."""

    def __init__(self, limit: int, waiting: Callable[[], int], window_s: float = 1.0) -> None:
        self.limit, self.waiting, self.window_s = limit, waiting, window_s
        self._recent: collections.deque[float] = collections.deque()
        self._lock = threading.Lock()

    def admit(self) -> bool:
        with self._lock:
            now = time.monotonic()
            while self._recent and now - self._recent[0] > self.window_s:
                self._recent.popleft()
            if self.waiting() + len(self._recent) >= self.limit:
                return False
            self._recent.append(now)
            return True
