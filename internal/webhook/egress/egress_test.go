package egress

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"net/url"
	"sync/atomic"
	"testing"
	"time"
)

func TestParseLiteral(t *testing.T) {
	for host, want := range map[string]string{
		"127.0.0.1":             "127.0.0.1",
		"127.0.0.1.":            "127.0.0.1",
		"2130706433":            "127.0.0.1",
		"0x7f000001":            "127.0.0.1",
		"0X7F000001":            "127.0.0.1",
		"017700000001":          "127.0.0.1",
		"0177.0.0.1":            "127.0.0.1",
		"0x7f.0.0.1":            "127.0.0.1",
		"0x7f.1":                "127.0.0.1",
		"127.1":                 "127.0.0.1",
		"127.0.1":               "127.0.0.1",
		"0":                     "0.0.0.0",
		"0x":                    "0.0.0.0",
		"2852039166":            "169.254.169.254",
		"0xa9.0xfe.0xa9.0xfe":   "169.254.169.254",
		"１２７．０．０．１":             "127.0.0.1", // full-width, as IDNA maps them
		"127。0。0。1":             "127.0.0.1",
		"::1":                   "::1",
		"[::1]":                 "::1",
		"::ffff:127.0.0.1":      "127.0.0.1",
		"::ffff:7f00:1":         "127.0.0.1",
		"0:0:0:0:0:ffff:7f00:1": "127.0.0.1",
		"fe80::1%eth0":          "fe80::1",
	} {
		got, ok := ParseLiteral(host)
		if !ok || got != netip.MustParseAddr(want) {
			t.Errorf("ParseLiteral(%q) = %v, %v; want %s", host, got, ok, want)
		}
	}
	for _, host := range []string{"example.com", "1.2.3.4.example.com", "0x7g.1", "08.0.0.1", "1.2.3.4.5",
		"256.1.1.1", "1.2.3.4294967296", "4294967296", "-1", "+1", "1_0", "1..1", "", "localhost"} {
		if got, ok := ParseLiteral(host); ok {
			t.Errorf("ParseLiteral(%q) = %v, want a host name", host, got)
		}
	}
}

// TestCheckHost: by default every internal address is refused, however the
// URL spells it; public addresses and host names pass.
func TestCheckHost(t *testing.T) {
	var none Policy
	for _, raw := range []string{
		"https://127.0.0.1/", "https://2130706433/", "https://0x7f000001/", "https://0177.0.0.1/", "https://127.1/",
		"https://[::1]/", "https://[::ffff:127.0.0.1]/", "https://[::ffff:7f00:1]/", "https://%EF%BC%91%EF%BC%92%EF%BC%97.0.0.1/",
		"https://169.254.169.254/", "https://2852039166/", "https://[fe80::1%25eth0]/", "https://[fd00:ec2::254]/",
		"https://100.100.100.200/", "https://168.63.129.16/", "https://10.0.0.1/", "https://012.0.0.1/",
		"https://0xa.0.0.1/", "https://167772161/", "https://[::ffff:10.0.0.1]/", "https://172.16.0.1/",
		"https://192.168.1.1/", "https://100.64.0.1/", "https://0.0.0.0/", "https://0/", "https://[::]/",
		"https://224.0.0.1/", "https://255.255.255.255/", "https://[ff02::1]/", "https://[fc00::1]/",
		"https://[64:ff9b::7f00:1]/", "https://[2002:a00:1::]/", "https://１２７．０．０．１/",
	} {
		u, err := url.Parse(raw)
		if err != nil {
			t.Errorf("url.Parse(%q): %v", raw, err)
			continue
		}
		if err := none.CheckHost(u.Hostname()); !errors.Is(err, ErrBlocked) {
			t.Errorf("CheckHost(%q) = %v, want ErrBlocked", u.Hostname(), err)
		}
	}
	for _, host := range []string{"receiver.example.gov.cn", "localhost", "8.8.8.8", "134744072", "2606:4700::1111",
		"64:ff9b::808:808", "2002:808:808::"} {
		if err := none.CheckHost(host); err != nil {
			t.Errorf("CheckHost(%q) = %v, want nil", host, err)
		}
	}
}

func TestPolicyAllowList(t *testing.T) {
	p, err := Parse(" 10.20.0.0/16, 127.0.0.1 ,::1,Receiver.County.Internal., ::ffff:192.168.7.0/120,")
	if err != nil {
		t.Fatal(err)
	}
	for addr, want := range map[string]bool{
		"10.20.3.4": true, "::ffff:10.20.0.9": true, "127.0.0.1": true, "::1": true, "192.168.7.9": true,
		"8.8.8.8":   true, // public addresses stay allowed
		"10.21.0.1": false, "127.0.0.2": false, "192.168.8.1": false, "169.254.169.254": false,
	} {
		if got := p.Allows(netip.MustParseAddr(addr)); got != want {
			t.Errorf("Allows(%s) = %v, want %v", addr, got, want)
		}
	}
	if err := p.CheckHost("2130706433"); err != nil {
		t.Errorf("127.0.0.1 is listed, yet its decimal spelling is refused: %v", err)
	}
	if !p.allowsName("receiver.county.internal") || !p.allowsName("RECEIVER.county.internal.") || p.allowsName("county.internal") {
		t.Error("host names are matched exactly, ignoring case and the trailing dot")
	}
	for _, bad := range []string{"10.0.0.0/33", "10.0.0.0/x", "not a host", "bad_name.example", "2130706433", "0x7f.1", "-x.example"} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) accepted it", bad)
		}
	}
}

// TestDialContext: the dialer refuses a blocked address before connecting,
// also when a name resolves to it, and connects where the policy allows.
func TestDialContext(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var accepted atomic.Int32
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			_ = c.Close()
		}
	}()
	_, port, _ := net.SplitHostPort(l.Addr().String())
	dial := func(p Policy, host string) error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		c, err := p.DialContext(net.Dialer{})(ctx, "tcp", net.JoinHostPort(host, port))
		if err == nil {
			_ = c.Close()
		}
		return err
	}
	for _, host := range []string{"127.0.0.1", "localhost", "::ffff:127.0.0.1"} {
		if err := dial(Policy{}, host); !errors.Is(err, ErrBlocked) {
			t.Errorf("default policy, dialling %s: %v, want ErrBlocked", host, err)
		}
	}
	time.Sleep(50 * time.Millisecond)
	if n := accepted.Load(); n != 0 {
		t.Fatalf("the listener accepted %d connections the policy refused", n)
	}

	loopback, _ := Parse("127.0.0.0/8")
	if err := dial(loopback, "127.0.0.1"); err != nil {
		t.Errorf("127.0.0.0/8 listed, dialling 127.0.0.1: %v", err)
	}
	if err := dial(loopback, "localhost"); err != nil {
		t.Errorf("127.0.0.0/8 listed, dialling localhost: %v", err)
	}
	byName, _ := Parse("localhost")
	if err := dial(byName, "localhost"); err != nil {
		t.Errorf("localhost listed, dialling it: %v", err)
	}
	if err := dial(byName, "127.0.0.1"); !errors.Is(err, ErrBlocked) {
		t.Errorf("localhost listed, dialling 127.0.0.1: %v, want ErrBlocked: a name opens only itself", err)
	}
}
