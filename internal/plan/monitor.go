package plan

import "time"

// Monitoring is the monitor stage's record: the checks on the new live
// colour under its real traffic after the switch, and what was done about
// the verdict. Its Verification's Since is the start of the bake.
type Monitoring struct {
	Verification
	Bake string `json:"bake"` // e.g. 10m0s
	// Baseline is when the old colour's baseline window ended: the switch.
	Baseline time.Time `json:"baseline"`
	// Action is what monitor did: confirmed (pass), rolled-back (fail, or
	// inconclusive with --on-inconclusive rollback), held (inconclusive:
	// traffic left where it is), none (no verdict: an error stopped it).
	Action       string     `json:"action"`
	RolledBackAt *time.Time `json:"rolledBackAt,omitempty"`
}

// The monitor actions.
const (
	MonitorConfirmed  = "confirmed"
	MonitorRolledBack = "rolled-back"
	MonitorHeld       = "held"
	MonitorNone       = "none"
)

func (c *checker) monitor(m *Monitoring) {
	if m == nil {
		return
	}
	c.verification("monitor", &m.Verification)
	c.check("monitor.action", m.Action, oneOf(m.Action, MonitorConfirmed, MonitorRolledBack, MonitorHeld, MonitorNone))
	c.check("monitor.bake", m.Bake, plain(m.Bake))
}
