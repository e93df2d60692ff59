package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"gitlab.com/platform/bluegreen/internal/argocd/argocdtest"
	"gitlab.com/platform/bluegreen/internal/config"
)

// A stage's sync that must wait for another operation says so in the job
// log, once per change of that operation's state.
func TestNewArgoCD_ReportsTheOperationItWaitsFor(t *testing.T) {
	t.Parallel()
	srv := argocdtest.NewServer(t, "tok")
	srv.AddApp("shop", argocdtest.Outcome{Polls: 4})
	var out bytes.Buffer
	a, err := newArgoCD(context.Background(), config.ArgoCD{Server: srv.Options().Addr, Token: "tok", PlainText: true}, &out)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	ctx := context.Background()
	const first, second = "1111111111111111111111111111111111111111", "2222222222222222222222222222222222222222"
	if _, err := a.Sync(ctx, "shop", first, nil); err != nil {
		t.Fatal(err)
	}
	if err := a.Check(ctx, "shop"); err != nil { // the controller picks it up
		t.Fatal(err)
	}
	if _, err := a.Sync(ctx, "shop", second, nil); err != nil {
		t.Fatalf("sync while another revision's runs: %v", err)
	}
	log := out.String()
	if !strings.HasPrefix(log, "  argocd shop: another operation is in flight, waiting for it to end: ") || !strings.Contains(log, "1111111") ||
		!strings.Contains(log, "Running") || strings.Contains(log, "tok") {
		t.Errorf("job log:\n%s", log)
	}
	if got := srv.Syncs(); len(got) != 2 || got[1].Revision != second {
		t.Errorf("syncs = %v, want the second after the first", got)
	}
}
