package plan

import (
	"strings"
	"testing"
	"time"
)

func TestPlan_ApprovalAndNotificationsRoundTrip(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	at := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	digest := "sha256:" + strings.Repeat("1", 64)
	p := &Plan{Schema: SchemaVersion, App: "checkout", Namespace: "shop", Image: "r.example.com/checkout:1",
		LiveColor: Blue, TargetColor: Green, Rendered: Rendered{Dir: RenderedDir, Digest: digest},
		Slack: &Slack{Channel: "C0DEPLOYS", ThreadTS: "1.000100"},
		Approval: &Approval{Approver: Approver{Login: "alice", ID: 7}, At: at, Digest: digest,
			Rules: []RuleResult{{Rule: "four-eyes", Passed: true, Detail: "ok"}}},
		Notifications: &Notifications{Deliveries: []Delivery{
			{Stage: "render", Result: "ok", At: at, Status: DeliverySent, Attempts: 1},
			{Stage: "sync", Result: "ok", At: at, Status: DeliveryPending, Attempts: 1, Error: "slack chat.postMessage: http_503"},
			{Stage: "approve", Result: "ok", At: at, Status: DeliveryPending},
		}}}
	if err := p.Save(dir); err != nil {
		t.Fatal(err)
	}
	got, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got.Approval.Approver.Login != "alice" || got.Approval.Rules[0].Rule != "four-eyes" || got.Slack.ThreadTS != "1.000100" {
		t.Errorf("loaded %+v", got)
	}
	if idx := got.Notifications.PendingDeliveries(); len(idx) != 2 || idx[0] != 1 || idx[1] != 2 {
		t.Errorf("pending = %v, want [1 2]", idx)
	}
}
