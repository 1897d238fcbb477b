"""What a feed may reach from the server: public web addresses, the databases the operator
named, and folders under the drop root. Everything else the server itself can reach (its own
loopback, the private network, cloud metadata at 169.254.169.254, the catalog's SQLite file,
the rest of its disk) is off limits to a publisher's feed unless the operator allows it.

A source is checked when a feed is set (`check_source`, a 400 naming the field) and again
while it runs: every HTTP connection, redirects included, is made only to an address checked
after resolving its host, so a DNS answer that changes later cannot get around the check.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from statedata.errors import FeedSourceError, FeedSourceNotAllowed, InvalidInput

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
# getaddrinfo's shape: (host, port, family, type) -> [(family, type, proto, name, sockaddr)]
Resolver = Callable[..., list[tuple[Any, ...]]]


def parse_allowed(entries: list[str]) -> tuple[frozenset[str], tuple[IpNetwork, ...]]:
    """Split the `feed_allowed_hosts` setting into host names and networks (an address alone
    is a network of one). Raises ValueError naming an entry that is neither."""
    names: set[str] = set()
    networks: list[IpNetwork] = []
    for raw in entries:
        entry = raw.strip().lower().rstrip(".")
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
            continue
        except ValueError:
            pass
        labels = entry.split(".")
        if "/" in entry or not all(
            label and len(label) <= 63 and label.replace("-", "").isalnum() for label in labels
        ):
            raise ValueError(
                f"'{raw}' is neither a host name (warehouse.agency.ct.gov), an address "
                "(10.20.30.40) nor a network (10.20.0.0/16)"
            )
        names.add(entry)
    return frozenset(names), tuple(networks)


def _unwrapped(address: IpAddress) -> IpAddress:
    # ::ffff:127.0.0.1 is 127.0.0.1 to the operating system.
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def is_public(address: IpAddress) -> bool:
    """An address on the public internet: not loopback, private, link-local, multicast,
    reserved, unspecified or shared (carrier-grade NAT)."""
    address = _unwrapped(address)
    return address.is_global and not address.is_multicast


@dataclass(frozen=True)
class Reach:
    """What feeds of one installation may reach. The default reaches only public web
    addresses: no internal host, no database and no folder."""

    allowed_names: frozenset[str] = frozenset()
    allowed_networks: tuple[IpNetwork, ...] = ()
    databases: Mapping[str, str] = field(default_factory=dict)
    folder_root: Path | None = None
    resolver: Resolver = socket.getaddrinfo

    @classmethod
    def of(cls, settings: Any) -> Reach:
        """The reach the installation's settings allow."""
        try:
            names, networks = parse_allowed(list(settings.feed_allowed_hosts))
        except ValueError as error:
            raise InvalidInput(
                f"feed_allowed_hosts: {error}.", field="feed_allowed_hosts"
            ) from None
        return cls(
            allowed_names=names,
            allowed_networks=networks,
            databases=dict(settings.feed_databases),
            folder_root=settings.drop_root,
        )

    # Addresses ---------------------------------------------------------------------------

    def allows_address(self, host: str, address: IpAddress) -> bool:
        address = _unwrapped(address)
        return (
            is_public(address)
            or host.lower().rstrip(".") in self.allowed_names
            or any(address in network for network in self.allowed_networks)
        )

    def addresses(self, host: str, port: int, where: str) -> list[str]:
        """The addresses `host` resolves to, each one checked; FeedSourceError when any is
        one the feed may not reach, or when the host cannot be found."""
        host = host.strip("[]")
        try:
            literal = ipaddress.ip_address(host)
        except ValueError:
            literal = None
        if literal is not None:
            found = [literal]
        else:
            try:
                answers = self.resolver(host, port, 0, socket.SOCK_STREAM)
            except (OSError, UnicodeError):
                raise FeedSourceError(
                    f"{where}: the host {host} could not be found (DNS). Check the address."
                ) from None
            found = []
            for answer in answers:
                value = ipaddress.ip_address(str(answer[4][0]).split("%")[0])
                if value not in found:
                    found.append(value)
        for address in found:
            if not self.allows_address(host, address):
                raise FeedSourceNotAllowed(_not_public(where, host, address), field="source")
        return [str(address) for address in found]

    def check_url(self, url: str, field_name: str) -> None:
        """A feed's address, when it is set: refused if its host is (or resolves to) an
        internal address the operator did not allow. A host that cannot be resolved now is
        let through: the run checks again, and says so plainly."""
        parts = urlsplit(url)
        where = f"source.{field_name}"
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            raise FeedSourceNotAllowed(
                f"{where}: the port is not a number.", field="source"
            ) from None
        try:
            self.addresses(parts.hostname or "", port, where)
        except FeedSourceNotAllowed:
            raise
        except FeedSourceError:
            pass

    # Databases ---------------------------------------------------------------------------

    def database_url(self, name: str) -> str:
        """The SQLAlchemy URL of a database the operator configured, by its name."""
        url = self.databases.get(name)
        if url is None:
            raise FeedSourceNotAllowed(
                f"source.database: there is no database named '{name}'. "
                + self._databases_offered(),
                field="source",
            )
        return url

    def _databases_offered(self) -> str:
        if not self.databases:
            return (
                "This portal's operator has configured none for feeds (the feed_databases setting)."
            )
        return (
            "Feeds may read from: "
            + ", ".join(sorted(self.databases))
            + " (the feed_databases setting)."
        )

    def legacy_database_url(self, url: str) -> str:
        """A feed kept from before databases were named: it may still run only when its
        address is one the operator configured."""
        if url in self.databases.values():
            return url
        raise FeedSourceNotAllowed(
            "This feed gives its own database address, which feeds may no longer do: set "
            "its source again with source.database naming one of the databases this portal's "
            "operator configured. " + self._databases_offered(),
            field="source",
        )

    # Folders -----------------------------------------------------------------------------

    def check_folder(self, path: str) -> None:
        """A drop folder must lie under the drop root, after following `..` and symlinks."""
        if self.folder_root is None:
            raise FeedSourceNotAllowed(
                "source.path: folder feeds are not allowed here (no drop folder root is set).",
                field="source",
            )
        if not inside(Path(path), self.folder_root):
            raise FeedSourceNotAllowed(
                f"source.path: the folder is outside {self.folder_root}, the only place "
                "folder feeds may read (the feed_folder_root setting).",
                field="source",
            )

    # Sources -----------------------------------------------------------------------------

    def check_source(self, kind: str, source: Mapping[str, Any]) -> None:
        """Refuse a source (already valid for its kind) that reaches what it may not."""
        if kind == "http":
            self.check_url(str(source["url"]), "url")
        elif kind in ("soda", "ckan"):
            self.check_url(str(source["portal"]), "portal")
        elif kind == "folder":
            self.check_folder(str(source["path"]))
        elif kind == "sql":
            if source.get("database_url"):
                raise FeedSourceNotAllowed(
                    "source.database_url: a feed may not give a database address. Name one "
                    "of the databases this portal's operator configured in source.database; "
                    "their addresses and passwords stay in the operator's settings. "
                    + self._databases_offered(),
                    field="source",
                )
            self.database_url(str(source["database"]))


def inside(path: Path, root: Path) -> bool:
    """Whether `path`, with `..` and symlinks followed, lies under `root`."""
    try:
        path.resolve().relative_to(root.resolve())
    except ValueError:
        return False
    return True


def _not_public(where: str, host: str, address: IpAddress) -> str:
    shown = host if host == str(address) else f"{host} ({address})"
    return (
        f"{where}: {shown} is not a public internet address (it is the server's own, or on a "
        "private or reserved network), and feeds may not reach it. If it is a source this "
        "portal's operator trusts, the operator can allow it in the feed_allowed_hosts setting."
    )
