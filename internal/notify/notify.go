// Package notify tells Slack how a deployment is going: one thread per
// deployment, whose head message is updated (chat.update) to show the
// current stage, colour and result, and one reply per stage, with deep
// links (pipeline, job, commit, merge request, the approve job's play
// button, Argo CD) and verification values against their thresholds.
// Message text comes from Go templates that users can override.
//
// A Slack failure never fails a stage: Notify returns no error. It retries
// (in the slack adapter), logs, and records every delivery in the plan; a
// reply that could not be sent stays pending and goes out with the next
// stage's.
package notify

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"gitlab.com/platform/bluegreen/internal/gitlab"
	"gitlab.com/platform/bluegreen/internal/plan"
	bgslack "gitlab.com/platform/bluegreen/internal/slack"
)

// Chat is a Slack bot: it can post into a thread and update a message.
type Chat interface {
	Post(ctx context.Context, channel, threadTS string, m bgslack.Message) (bgslack.Posted, error)
	Update(ctx context.Context, channel, ts string, m bgslack.Message) error
}

// Webhook is an incoming webhook: it can only post.
type Webhook interface {
	Post(ctx context.Context, m bgslack.Message) error
}

// Jobs finds a job of a pipeline (for the approve job's play link).
type Jobs interface {
	PipelineJob(ctx context.Context, project string, pipelineID int64, name string) (gitlab.Job, error)
}

// Site is where links point.
type Site struct {
	ServerURL       string // CI_SERVER_URL
	ProjectPath     string // CI_PROJECT_PATH; default: the plan's
	ProjectID       string // for the Jobs API; default: ProjectPath
	MergeRequestIID int64  // CI_MERGE_REQUEST_IID, in merge request pipelines
	ArgoCDURL       string // Argo CD's web UI
	ApproveJob      string // the approve job's name
}

// Event is one stage's report.
type Event struct {
	Stage   plan.Stage
	Result  string    // the outcome kind: ok, negative, usage, external, locked
	Message string    // one line: what happened, or the error
	JobURL  string    // the job that ran the stage
	At      time.Time // when; default: now
}

// Notifier sends a deployment's stage reports to Slack. Chat, Webhook and
// Jobs may each be nil; with neither Chat nor Webhook, Notify does nothing.
type Notifier struct {
	Chat      Chat
	Channel   string // for a new thread; an existing thread keeps its channel
	Webhook   Webhook
	Jobs      Jobs
	Site      Site
	Templates *Templates
	// Scrub removes secrets from text that reaches Slack, logs and the plan.
	Scrub func(string) string
	Now   func() time.Time
	Log   *slog.Logger
	Out   io.Writer // one human line per Notify
}

// Summary is what Notify did.
type Summary struct {
	Sent    int   // replies delivered, older pending ones included
	Pending int   // replies still waiting for a later stage
	Err     error // the last Slack error, if any (already logged and recorded)
}

// Notify reports ev for p: it creates or updates the thread's head, then
// posts every pending reply, ev's last. It records the outcome in
// p.Slack and p.Notifications, and never fails: the caller saves the plan.
func (n *Notifier) Notify(ctx context.Context, p *plan.Plan, ev Event) Summary {
	if n.Chat == nil && n.Webhook == nil {
		return Summary{}
	}
	start := n.now()
	if ev.At.IsZero() {
		ev.At = start
	}
	if p.Notifications == nil {
		p.Notifications = &plan.Notifications{}
	}
	p.Notifications.Deliveries = append(p.Notifications.Deliveries, plan.Delivery{
		Stage: ev.Stage, Result: ev.Result, Message: n.scrub(ev.Message), JobURL: ev.JobURL,
		At: ev.At.UTC(), Status: plan.DeliveryPending,
	})
	current := p.Notifications.Deliveries[len(p.Notifications.Deliveries)-1]
	for _, i := range p.Notifications.PendingDeliveries() {
		p.Notifications.Deliveries[i].Attempts++ // this stage tries them all
	}
	play := n.playURL(ctx, p, current)

	var sum Summary
	if n.Chat != nil {
		sum.Sent, sum.Err = n.viaBot(ctx, p, current, play)
	}
	if n.Webhook != nil && (n.Chat == nil || sum.Err != nil) {
		sent, err := n.viaWebhook(ctx, p, play)
		sum.Sent += sent
		if err != nil {
			sum.Err = errors.Join(sum.Err, err)
		}
	}
	sum.Pending = len(p.Notifications.PendingDeliveries())
	n.report(ev.Stage, sum, n.now().Sub(start))
	return sum
}

// viaBot updates (or starts) the thread, then posts the pending replies.
func (n *Notifier) viaBot(ctx context.Context, p *plan.Plan, current plan.Delivery, play string) (int, error) {
	if err := n.updateHead(ctx, p, current, play); err != nil {
		p.Notifications.HeadError = n.scrub(err.Error())
		n.log().Warn("slack head message not updated", "err", p.Notifications.HeadError)
		if p.Slack == nil || p.Slack.ThreadTS == "" {
			// No thread to reply in: every reply stays pending.
			for _, i := range p.Notifications.PendingDeliveries() {
				p.Notifications.Deliveries[i].Error = p.Notifications.HeadError
			}
			return 0, err
		}
	} else {
		p.Notifications.HeadError = ""
	}
	return n.postPending(p, "bot", func(v View, text, reply string) (string, error) {
		posted, err := n.Chat.Post(ctx, p.Slack.Channel, p.Slack.ThreadTS, n.replyMessage(v, text, reply))
		return posted.TS, err
	}, play)
}

// updateHead creates the thread's head message, or updates it. A head that
// was deleted in Slack is replaced by a new thread.
func (n *Notifier) updateHead(ctx context.Context, p *plan.Plan, current plan.Delivery, play string) error {
	v := n.buildView(p, current, play)
	text, head := n.text(v, "text"), n.text(v, "head")
	msg := n.headMessage(v, text, head)
	if p.Slack != nil && p.Slack.ThreadTS != "" {
		err := n.Chat.Update(ctx, p.Slack.Channel, p.Slack.ThreadTS, msg)
		if code := bgslack.Code(err); code != "message_not_found" && code != "cant_update_message" {
			return err
		}
		n.log().Warn("slack head message is gone; starting a new thread", "ts", p.Slack.ThreadTS)
	}
	channel := n.Channel
	if p.Slack != nil && p.Slack.Channel != "" && n.Channel == "" {
		channel = p.Slack.Channel
	}
	posted, err := n.Chat.Post(ctx, channel, "", msg)
	if err != nil {
		return err
	}
	p.Slack = &plan.Slack{Channel: posted.Channel, ThreadTS: posted.TS}
	return nil
}

// viaWebhook posts the pending replies through the webhook.
func (n *Notifier) viaWebhook(ctx context.Context, p *plan.Plan, play string) (int, error) {
	return n.postPending(p, "webhook", func(v View, text, reply string) (string, error) {
		return "", n.Webhook.Post(ctx, n.webhookMessage(v, text, reply))
	}, play)
}

// postPending sends every pending reply, oldest first, with send. It stops
// at the first failure that is not about the message itself, since the
// rest would fail the same way and use up the stage's Slack time.
func (n *Notifier) postPending(p *plan.Plan, via string, send func(v View, text, reply string) (ts string, err error), play string) (int, error) {
	var last error
	sent := 0
	for _, i := range p.Notifications.PendingDeliveries() {
		d := &p.Notifications.Deliveries[i]
		dPlay := ""
		if i == len(p.Notifications.Deliveries)-1 {
			dPlay = play // an older reply's play link may be stale
		}
		v := n.buildView(p, *d, dPlay)
		ts, err := send(v, n.text(v, "text"), n.text(v, "reply."+unescape(v.Stage), "reply"))
		if err != nil {
			d.Error = n.scrub(err.Error())
			n.log().Warn("slack reply not sent", "stage", d.Stage, "via", via, "err", d.Error)
			last = err
			if !messageSpecific(err) {
				return sent, last
			}
			continue
		}
		now := n.now().UTC()
		d.Status, d.Via, d.TS, d.SentAt, d.Error = plan.DeliverySent, via, ts, &now, ""
		sent++
	}
	return sent, last
}

// messageSpecific reports a refusal of one message's content, which does
// not stop the others.
func messageSpecific(err error) bool {
	switch bgslack.Code(err) {
	case "invalid_blocks", "invalid_attachments", "msg_too_long", "invalid_blocks_format", "no_text":
		return true
	}
	return false
}

// playURL finds the approve job's page while approval is pending, so that
// messages can link to its play button. A failed lookup only loses the link.
func (n *Notifier) playURL(ctx context.Context, p *plan.Plan, d plan.Delivery) string {
	if n.Jobs == nil || p.Approval != nil || p.Pipeline.ID == 0 || n.Site.ApproveJob == "" ||
		(d.Stage != plan.Render && d.Stage != plan.Sync) {
		return ""
	}
	project := orDefault(n.Site.ProjectID, orDefault(n.Site.ProjectPath, p.Pipeline.ProjectPath))
	if project == "" {
		return ""
	}
	job, err := n.Jobs.PipelineJob(ctx, project, p.Pipeline.ID, n.Site.ApproveJob)
	if err != nil {
		n.log().Warn("approve job not found; messages go without its play link", "job", n.Site.ApproveJob, "err", n.scrub(err.Error()))
		return ""
	}
	return job.WebURL
}

// text renders the first defined of names; a broken user template falls
// back to the default, and failing that to a plain line.
func (n *Notifier) text(v View, names ...string) string {
	s, err := n.templates().render(v, names...)
	if err != nil {
		n.log().Warn("slack template failed; using the default", "template", names[0], "err", n.scrub(err.Error()))
	}
	if s == "" {
		s = fmt.Sprintf("%s %s: %s %s", v.Emoji, v.App, v.Stage, v.Verb)
	}
	return n.scrub(s)
}

func (n *Notifier) report(stage plan.Stage, s Summary, took time.Duration) {
	if n.Out == nil {
		return
	}
	d := took.Round(time.Millisecond)
	switch {
	case s.Err == nil:
		fmt.Fprintf(n.Out, "notify: Slack has the %s message (%d sent) (%s)\n", stage, s.Sent, d)
	default:
		fmt.Fprintf(n.Out, "notify: Slack did not take the %s message: %s; %d message(s) wait for the next stage (%s)\n",
			stage, n.scrub(s.Err.Error()), s.Pending, d)
	}
}

func (n *Notifier) scrub(s string) string {
	if n.Scrub == nil {
		return s
	}
	return n.Scrub(s)
}

func (n *Notifier) now() time.Time {
	if n.Now == nil {
		return time.Now()
	}
	return n.Now()
}

func (n *Notifier) log() *slog.Logger {
	if n.Log == nil {
		return slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return n.Log
}

func (n *Notifier) templates() *Templates {
	if n.Templates == nil {
		return DefaultTemplates()
	}
	return n.Templates
}
