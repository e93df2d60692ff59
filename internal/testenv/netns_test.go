package testenv_test

import (
	"net"
	"testing"
)

func TestMain_RunsTestsInPrivateNetworkNamespace(t *testing.T) {
	ifaces, err := net.Interfaces()
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range ifaces {
		if i.Flags&net.FlagLoopback == 0 {
			t.Errorf("interface %s is not loopback: tests run outside the private network namespace", i.Name)
		}
	}
}
