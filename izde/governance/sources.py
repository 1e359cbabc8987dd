"""Which sources a camera may read: a camera is something an administrator connects, never any file or URL.

Pure rules over a parsed source and a :class:`SourcePolicy` built from the settings. A source inside the data
directory (the database, photos, evidence, keys) is refused, so a session can never read izde's own files (a
session on the SQLite file once broke its locks); file sources stay inside the configured media folders; only
camera-like URL schemes are read, and loopback, link-local and other non-camera hosts (the machine itself, cloud
metadata services) are refused unless ``cameras.allow_private_hosts`` names them.
"""

from __future__ import annotations

import ipaddress
import socket
import stat
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from izde.config import Settings
from izde.errors import InvalidInput

CAMERA_SCHEMES = frozenset({"rtsp", "rtsps", "http", "https"})  # RTSP cameras; MJPEG and HLS over HTTP(S)
# Without configured media folders, files are still never read from the system's own folders.
SYSTEM_FOLDERS = tuple(
    Path(p) for p in ("/etc", "/proc", "/sys", "/dev", "/boot", "/root", "/run", "/var/lib", "/var/run", "/usr")
)

Resolver = Callable[[str], list[str]]


class SourceRefused(InvalidInput):
    """The source is not one a camera may read (422 on the web, exit 2 on the command line)."""


@dataclass(frozen=True, slots=True)
class SourcePolicy:
    protected: tuple[Path, ...]  # never read: the data directory, the key folder, the database file
    media_folders: tuple[Path, ...]  # when given, file sources must be inside one of them
    allow_private_hosts: frozenset[str]  # host names or addresses (or networks) allowed despite the rules

    @staticmethod
    def of(settings: Settings) -> SourcePolicy:
        protected = [settings.home, settings.audit_key_path.parent, settings.token_path]
        url = settings.db_url
        if url.startswith("sqlite:///"):
            protected.append(Path(url.removeprefix("sqlite:///")))
        return SourcePolicy(
            tuple(_real(p) for p in protected),
            tuple(_real(p) for p in settings.cameras.media_folders),
            frozenset(h.lower() for h in settings.cameras.allow_private_hosts),
        )


def _real(path: Path) -> Path:
    return Path(path).expanduser().resolve(strict=False)


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def check_path(location: str, policy: SourcePolicy) -> None:
    """A file or folder source: a regular file or a folder, outside izde's own data, inside the media folders."""
    path = _real(Path(location))
    try:
        mode = path.stat().st_mode
    except OSError:
        raise SourceRefused(f"the source {location} cannot be read") from None
    if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        raise SourceRefused(f"the source {location} is not a regular file or folder (a device, pipe or socket)")
    if any(_inside(path, p) or _inside(p, path) for p in policy.protected):
        raise SourceRefused(
            f"the source {location} is inside (or holds) izde's data directory, database or keys",
            "keep video in a media folder of its own (cameras.media_folders)",
        )
    if policy.media_folders:
        if not any(_inside(path, m) for m in policy.media_folders):
            shown = ", ".join(str(m) for m in policy.media_folders)
            raise SourceRefused(
                f"the source {location} is outside the media folders ({shown})",
                "move the recording into a media folder, or add its folder to cameras.media_folders",
            )
    elif any(_inside(path, s) for s in SYSTEM_FOLDERS):
        raise SourceRefused(
            f"the source {location} is in a system folder", "keep video in a media folder (cameras.media_folders)"
        )


def _addresses(host: str) -> list[str]:
    try:
        return sorted({str(info[4][0]) for info in socket.getaddrinfo(host, None)})
    except (OSError, UnicodeError):
        return []  # unresolvable now: the camera may be offline; opening it later fails on its own


def _allowed(address: str, allowed: Iterable[str]) -> bool:
    ip = ipaddress.ip_address(address)
    for entry in allowed:
        try:
            if ip in ipaddress.ip_network(entry, strict=False):
                return True
        except ValueError:
            continue
    return False


def _not_a_camera(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_loopback or ip.is_link_local or ip.is_unspecified or ip.is_multicast or ip.is_reserved


def check_url(location: str, policy: SourcePolicy, resolve: Resolver = _addresses) -> None:
    """A stream URL: a camera scheme and a host that is not this machine, a link-local or metadata address."""
    try:
        parts = urlsplit(location)
        host = (parts.hostname or "").lower()
    except ValueError:
        raise SourceRefused("the stream URL is malformed") from None
    if parts.scheme.lower() not in CAMERA_SCHEMES:
        raise SourceRefused(
            f"{location}: the scheme {parts.scheme}:// is not a camera stream",
            "use rtsp://, rtsps://, http:// or https://",
        )
    if not host:
        raise SourceRefused("the stream URL names no host")
    if host in policy.allow_private_hosts:
        return
    try:
        addresses = [str(ipaddress.ip_address(host))]
    except ValueError:
        addresses = ["127.0.0.1"] if host == "localhost" or host.endswith(".localhost") else resolve(host)
    for a in addresses:
        if _not_a_camera(a) and not _allowed(a, policy.allow_private_hosts):
            # The message names the URL for the administrator; IzdeError masks its credentials.
            raise SourceRefused(
                f"{location}: the host {host} is a loopback, link-local or reserved address ({a})",
                "cameras on such addresses must be listed in cameras.allow_private_hosts",
            )


def check_source(kind: str, location: str, policy: SourcePolicy) -> None:
    """Raise :class:`SourceRefused` unless a camera may read the source (``kind`` as parsed: file, folder,
    stream or webcam)."""
    if kind in ("file", "folder"):
        check_path(location, policy)
    elif kind == "stream":
        check_url(location, policy)
