package testenv_test

import (
	"net"
	"testing"

	"gitlab.com/platform/bluegreen/internal/testenv"
)

func TestMain_RunsTestsInPrivateNetworkNamespace(t *testing.T) {
	ifaces, err := net.Interfaces()
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range ifaces {
		// The data plane's own interface holds only local addresses.
		if i.Flags&net.FlagLoopback == 0 && i.Name != testenv.DataPlaneLink {
			t.Errorf("interface %s is not loopback: tests run outside the private network namespace", i.Name)
		}
	}
}
