// Package egress decides which addresses the server may connect to when an
// admin, not the operator, chose the destination: webhook receivers. By
// default only public addresses are allowed, so a webhook cannot be aimed at
// the server's own loopback, the county's private networks or a cloud
// metadata service. The operator lists the internal networks and host names
// of the county's own receivers in a Policy.
//
// The check runs twice: on an IP literal when a URL is registered, in every
// spelling a URL parser or a resolver would take for an address (CheckHost),
// and on the address actually connected to, after name resolution
// (DialContext), so a name that resolves to an internal address, at once
// or later by DNS rebinding, is refused as well.
package egress

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/net/idna"
)

// ErrBlocked is the refusal of an address the policy does not allow.
var ErrBlocked = errors.New("egress: destination address not allowed")

// Policy lists what is allowed besides public addresses. The zero Policy
// allows public addresses only.
type Policy struct {
	nets  []netip.Prefix
	hosts map[string]bool
}

// Parse reads a comma-separated allow-list of CIDR networks
// ("10.20.0.0/16"), single addresses ("10.20.0.5") and host names
// ("receiver.county.internal"). A host name is trusted whatever it resolves
// to, so list only names the county's own DNS answers for.
func Parse(list string) (Policy, error) {
	var p Policy
	for entry := range strings.SplitSeq(list, ",") {
		entry = strings.TrimSpace(entry)
		switch {
		case entry == "":
			continue
		case strings.Contains(entry, "/"):
			pfx, err := netip.ParsePrefix(entry)
			if err != nil {
				return Policy{}, fmt.Errorf("egress: %q is not a CIDR network", entry)
			}
			p.nets = append(p.nets, unmapPrefix(pfx.Masked()))
		default:
			if a, err := netip.ParseAddr(entry); err == nil {
				a = a.WithZone("").Unmap()
				p.nets = append(p.nets, netip.PrefixFrom(a, a.BitLen()))
				continue
			}
			name := hostKey(entry)
			if !validName(name) {
				return Policy{}, fmt.Errorf("egress: %q is neither a network, an address nor a host name", entry)
			}
			if _, ok := ParseLiteral(name); ok {
				return Policy{}, fmt.Errorf("egress: %q spells an address; write it as one", entry)
			}
			if p.hosts == nil {
				p.hosts = map[string]bool{}
			}
			p.hosts[name] = true
		}
	}
	return p, nil
}

// unmapPrefix turns an IPv4-mapped IPv6 network into the IPv4 network it
// covers, since addresses are unmapped before they are compared.
func unmapPrefix(p netip.Prefix) netip.Prefix {
	if p.Addr().Is4In6() && p.Bits() >= 96 {
		return netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
	}
	return p
}

func validName(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for label := range strings.SplitSeq(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range []byte(label) {
			if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// hostKey is how host names are compared: lower case, in their ASCII
// (punycode) form, without the root's trailing dot.
func hostKey(host string) string {
	if ascii, err := idna.Lookup.ToASCII(host); err == nil {
		host = ascii
	}
	return strings.TrimSuffix(strings.ToLower(host), ".")
}

// Allows reports whether connecting to a is allowed: it is listed, or it is
// a public address.
func (p Policy) Allows(a netip.Addr) bool {
	a = a.WithZone("").Unmap()
	for _, n := range p.nets {
		if n.Contains(a) {
			return true
		}
	}
	return !internal(a)
}

// allowsName reports whether host is a listed host name.
func (p Policy) allowsName(host string) bool {
	return len(p.hosts) > 0 && p.hosts[hostKey(host)]
}

// CheckHost is the check at registration, on a URL's host as url.URL's
// Hostname returns it: ErrBlocked when it is an address the policy does not
// allow, in whatever spelling. A host name passes; DialContext checks what
// it resolves to at each connection.
func (p Policy) CheckHost(host string) error {
	if a, ok := ParseLiteral(host); ok && !p.Allows(a) {
		return ErrBlocked
	}
	return nil
}

// DialContext returns a dial function for an http.Transport that connects
// like d, but only to addresses the policy allows. The check runs on each
// address the dialer is about to connect to, after resolution, so a name
// resolving to several addresses is judged address by address. A listed
// host name is dialled without the check.
func (p Policy) DialContext(d net.Dialer) func(ctx context.Context, network, addr string) (net.Conn, error) {
	guarded := d
	guarded.Control = nil
	guarded.ControlContext = func(_ context.Context, _, address string, _ syscall.RawConn) error {
		ap, err := netip.ParseAddrPort(address)
		if err != nil || !p.Allows(ap.Addr()) {
			return ErrBlocked
		}
		return nil
	}
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		if host, _, err := net.SplitHostPort(addr); err == nil && p.allowsName(host) {
			return d.DialContext(ctx, network, addr)
		}
		return guarded.DialContext(ctx, network, addr)
	}
}

// ParseLiteral reads host as an IP address if anything on the way to a
// connection could: Go's parser (IPv6 with or without zone, IPv4-mapped
// forms), IDNA mapping (full-width digits and dots become ASCII ones), and
// the BSD inet_aton forms that C resolvers accept, where "2130706433",
// "0x7f.1" and "0177.0.0.1" all mean 127.0.0.1.
func ParseLiteral(host string) (netip.Addr, bool) {
	h := strings.TrimPrefix(strings.TrimSuffix(host, "]"), "[")
	if a, err := netip.ParseAddr(h); err == nil {
		return a.WithZone("").Unmap(), true
	}
	h = strings.TrimSuffix(hostKey(h), ".")
	if a, err := netip.ParseAddr(h); err == nil {
		return a.WithZone("").Unmap(), true
	}
	return parseInetAton(h)
}

// parseInetAton reads one to four dot-separated numbers, each decimal,
// octal (leading 0) or hexadecimal (leading 0x), the last filling the bytes
// left: a, a.b (b 24 bits), a.b.c (c 16 bits) or a.b.c.d.
func parseInetAton(s string) (netip.Addr, bool) {
	parts := strings.Split(s, ".")
	if len(parts) > 4 {
		return netip.Addr{}, false
	}
	var v uint64
	for i, part := range parts {
		n, ok := atonNumber(part)
		if !ok {
			return netip.Addr{}, false
		}
		limit := uint64(0xff)
		if i == len(parts)-1 {
			limit = 1<<(8*(5-len(parts))) - 1
		}
		if n > limit {
			return netip.Addr{}, false
		}
		if i < len(parts)-1 {
			v |= n << (8 * (3 - i))
		} else {
			v |= n
		}
	}
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}), true
}

func atonNumber(s string) (uint64, bool) {
	base, digits := 10, s
	switch {
	case s == "":
		return 0, false
	case strings.HasPrefix(s, "0x"), strings.HasPrefix(s, "0X"):
		base, digits = 16, s[2:]
		if digits == "" {
			return 0, true // inet_aton takes a bare "0x" for 0
		}
	case len(s) > 1 && s[0] == '0':
		base, digits = 8, s[1:]
	}
	for _, c := range []byte(digits) {
		// ParseUint would also take a sign or underscores.
		if !('0' <= c && c <= '9' || base == 16 && ('a' <= c && c <= 'f' || 'A' <= c && c <= 'F')) {
			return 0, false
		}
	}
	n, err := strconv.ParseUint(digits, base, 32)
	return n, err == nil
}

// blocked are the networks a webhook may not reach unless listed: nothing
// on them is a public receiver, and they hold the inside of the host, of
// the county's network and of the cloud it may run in.
var blocked = func() []netip.Prefix {
	var out []netip.Prefix
	for _, s := range []string{
		"0.0.0.0/8",        // "this network": 0.0.0.0 reaches the host itself
		"10.0.0.0/8",       // private
		"100.64.0.0/10",    // carrier-grade NAT; Alibaba Cloud's metadata is 100.100.100.200
		"127.0.0.0/8",      // loopback
		"169.254.0.0/16",   // link-local; most clouds' metadata is 169.254.169.254
		"172.16.0.0/12",    // private
		"192.0.0.0/24",     // IETF protocol assignments
		"192.168.0.0/16",   // private
		"198.18.0.0/15",    // benchmarking, used inside networks
		"224.0.0.0/4",      // multicast
		"240.0.0.0/4",      // reserved, and the broadcast address
		"168.63.129.16/32", // Azure's platform and metadata endpoint
		"::/96",            // unspecified, loopback and IPv4-compatible
		"64:ff9b:1::/48",   // local-use NAT64
		"100::/64",         // discard-only
		"fc00::/7",         // unique local; AWS's IPv6 metadata is fd00:ec2::254
		"fe80::/10",        // link-local
		"fec0::/10",        // site-local: deprecated, still routed by some
		"ff00::/8",         // multicast
	} {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}()

// internal reports whether a (unmapped, without zone) is on a blocked
// network, or embeds an IPv4 address that is: NAT64 (64:ff9b::/96) and
// 6to4 (2002::/16) addresses reach the IPv4 address inside them.
func internal(a netip.Addr) bool {
	for _, n := range blocked {
		if n.Contains(a) {
			return true
		}
	}
	if a.Is6() {
		b := a.As16()
		switch {
		case nat64.Contains(a):
			return internal(netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]}))
		case sixToFour.Contains(a):
			return internal(netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]}))
		}
	}
	return false
}

var (
	nat64     = netip.MustParsePrefix("64:ff9b::/96")
	sixToFour = netip.MustParsePrefix("2002::/16")
)
