"""Put a finished site where the old one is, in one step, and clear what a killed build left.

Input: a complete new site tree beside the site folder. Output: that tree at the site's
path; the old tree deleted in the background. A reader (or a kill) at any moment finds one
complete site there. Only this module and ``engine`` write beside the output tree.
"""

from __future__ import annotations

import ctypes
import errno
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from generator.files import remove_leftovers

# Folders a build makes beside the site; a killed build leaves them, the next one removes them.
SITE_NEW_PREFIX = ".{name}.new-"
SITE_OLD_PREFIX = ".{name}.old-"

_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def clear_leftovers(site_dir: Path) -> None:
    """Remove the new and old trees a killed build left beside ``site_dir``."""
    patterns = (SITE_NEW_PREFIX.format(name=site_dir.name) + "*", SITE_OLD_PREFIX.format(name=site_dir.name) + "*")
    remove_leftovers(site_dir.parent, patterns, temporaries=False)


def new_site_folder(site_dir: Path) -> Path:
    """An empty folder beside ``site_dir`` for the next site (same file system: the swap is a rename)."""
    site_dir.parent.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix=SITE_NEW_PREFIX.format(name=site_dir.name), dir=site_dir.parent))
    # mkdtemp makes it 0700; the published site is read by a web server running as another user
    folder.chmod(0o755)
    return folder


def swap_in(new_site: Path, site_dir: Path, discard: Callable[[Path], None] = shutil.rmtree) -> None:
    """Put ``new_site`` where ``site_dir`` is, so that a reader (or a kill) at any moment finds
    one complete site there, then ``discard`` the old one.

    Linux exchanges two paths in one step (renameat2 RENAME_EXCHANGE); where it cannot
    (another kernel, a file system without it), two renames leave a moment without the site.
    """
    if site_dir.exists() and _exchange(new_site, site_dir):
        discard(new_site)  # it now holds the old site
        return
    old = site_dir.with_name(f"{SITE_OLD_PREFIX.format(name=site_dir.name)}{os.getpid()}")
    if site_dir.exists():
        os.replace(site_dir, old)
    os.replace(new_site, site_dir)
    discard(old)


def discard_in_background(tree: Path) -> None:
    """Delete ``tree`` from a detached process: deleting a large old site took seconds the
    build need not wait for. Its name is a leftover's, so if the process dies the next build
    removes it."""
    subprocess.Popen(
        [sys.executable, "-c", "import shutil, sys; shutil.rmtree(sys.argv[1], ignore_errors=True)", str(tree)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def _exchange(a: Path, b: Path) -> bool:
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    done = renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    if done == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.EXDEV):
        return False
    raise OSError(err, os.strerror(err), str(b))
