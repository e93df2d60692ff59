package testenv

import (
	"net"
	"strconv"
	"testing"
)

// Ports handed to servers that bind them later must be out of reach of
// every port-0 listener in the meantime, and never handed out twice.
func TestFreePorts_OutsideTheEphemeralRangeAndDistinct(t *testing.T) {
	lo, hi := reservedPorts()
	if hi-lo < 2000 {
		t.Skipf("the kernel's ephemeral range leaves no room (%d-%d)", lo, hi)
	}
	seen := map[int]bool{}
	for range 20 {
		ps, err := freePorts(6)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range ps {
			if p < lo || p >= hi || seen[p] {
				t.Fatalf("port %d: outside %d-%d, or handed out twice", p, lo, hi)
			}
			seen[p] = true
		}
	}
	// A port-0 listener lands in the ephemeral range, never in ours.
	for range 50 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		_, port, _ := net.SplitHostPort(l.Addr().String())
		l.Close()
		if p, _ := strconv.Atoi(port); p >= lo && p < hi {
			t.Fatalf("a port-0 listener got %d, inside the reserved %d-%d", p, lo, hi)
		}
	}
}
