package plan

import "time"

// Approval records the person who let green go on, the policy that was
// checked, and what exactly was approved. approve sets it; a later refusal
// clears it, so the newest decision always wins.
type Approval struct {
	Approver Approver     `json:"approver"`
	At       time.Time    `json:"at"`
	Digest   string       `json:"digest"` // Rendered.Digest when approved: what was approved
	Reason   string       `json:"reason,omitempty"`
	Rules    []RuleResult `json:"rules"` // every policy rule that was checked, in order
	JobURL   string       `json:"jobUrl,omitempty"`
}

// Approver is the GitLab user who pressed play on the approve job.
type Approver struct {
	Login string `json:"login"` // GITLAB_USER_LOGIN
	ID    int64  `json:"id"`    // GITLAB_USER_ID
	Name  string `json:"name,omitempty"`
}

// RuleResult is one approval policy rule's verdict.
type RuleResult struct {
	Rule   string `json:"rule"`   // four-eyes, allowed-approvers, deploy-freeze, fresh-green, reason
	Passed bool   `json:"passed"` // false: the rule refused the approval
	Detail string `json:"detail"` // why, in one line
}
