package plan

import "time"

// Notifications records what bluegreen told Slack about the deployment. The
// thread itself is in Plan.Slack; this is the delivery log. A reply that
// could not be delivered stays "pending" and is sent again, in order, by the
// next stage that notifies.
type Notifications struct {
	Deliveries []Delivery `json:"deliveries,omitempty"`
	// HeadError is the last failure to create or update the thread's head
	// message; empty once an update succeeds.
	HeadError string `json:"headError,omitempty"`
}

// Delivery states.
const (
	DeliverySent    = "sent"
	DeliveryPending = "pending"
)

// Delivery is one stage's message to Slack.
type Delivery struct {
	Stage    Stage      `json:"stage"`
	Result   string     `json:"result"` // the stage's outcome: ok, negative, usage, external, locked
	Message  string     `json:"message,omitempty"`
	JobURL   string     `json:"jobUrl,omitempty"`
	At       time.Time  `json:"at"`     // when the stage reported
	Status   string     `json:"status"` // sent or pending
	Via      string     `json:"via,omitempty"`
	TS       string     `json:"ts,omitempty"` // the reply's Slack timestamp
	SentAt   *time.Time `json:"sentAt,omitempty"`
	Attempts int        `json:"attempts"` // stages that tried to send it
	Error    string     `json:"error,omitempty"`
}

// PendingDeliveries returns the indexes of the deliveries still to be sent,
// oldest first.
func (n *Notifications) PendingDeliveries() []int {
	var idx []int
	for i, d := range n.Deliveries {
		if d.Status == DeliveryPending {
			idx = append(idx, i)
		}
	}
	return idx
}
