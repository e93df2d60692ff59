package plan

// Stage names a stage in the ledger (Result.Stage) and in Slack's delivery
// log: the mode that wrote the entry.
type Stage string

// The stages, as the ledger names them.
const (
	Render   Stage = "render"
	Sync     Stage = "sync"
	Approve  Stage = "approve"
	Verify   Stage = "verify"
	Promote  Stage = "promote"
	Monitor  Stage = "monitor"
	Rollback Stage = "rollback"
	Drift    Stage = "drift"
)

// PipelineStages are the stages of a release, in pipeline order; a
// rollback follows only when it happens. Monitor is shown once it has run.
var PipelineStages = []Stage{Render, Sync, Approve, Verify, Promote}
