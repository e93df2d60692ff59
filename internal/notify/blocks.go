package notify

import (
	"fmt"
	"strings"

	"github.com/slack-go/slack"

	"gitlab.com/platform/bluegreen/internal/plan"
	bgslack "gitlab.com/platform/bluegreen/internal/slack"
)

// Slack's limits, less a margin.
const (
	maxSectionText = 2900 // section text: 3000
	maxFieldText   = 1900 // section field: 2000
	maxHeaderText  = 150
	maxFields      = 10 // fields per section
	maxURL         = 3000
	// maxCheckSections bounds the sections of checks in a reply, so that
	// with its other blocks (and a webhook's context) it stays within
	// Slack's 50 blocks.
	maxCheckSections = 40
)

func mrkdwn(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.MarkdownType, s, false, false)
}

func plain(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.PlainTextType, s, true, false)
}

func section(text string) *slack.SectionBlock {
	return slack.NewSectionBlock(mrkdwn(truncate(text, maxSectionText)), nil, nil)
}

// headMessage is the thread's first message, updated at every stage: a
// header, then the deployment's state in a coloured attachment.
func (n *Notifier) headMessage(v View, text, head string) bgslack.Message {
	fields := []*slack.TextBlockObject{
		mrkdwn(fmt.Sprintf("*Stage*\n%s", v.Stage)),
		mrkdwn(fmt.Sprintf("*Result*\n%s %s", v.Emoji, v.Verb)),
		mrkdwn(fmt.Sprintf("*Live*\n%s %s", colorEmoji(unescape(v.LiveNow)), v.LiveNow)),
		mrkdwn(fmt.Sprintf("*Target*\n%s %s", colorEmoji(unescape(v.Target)), v.Target)),
	}
	if v.Image != "" {
		fields = append(fields, mrkdwn(truncate(fmt.Sprintf("*Image*\n`%s`", v.Image), maxFieldText)))
	}
	if v.CommitShort != "" {
		commit := "`" + v.CommitShort + "`"
		if v.Links.Commit != "" && len([]rune(v.Links.Commit)) <= maxFieldText-64 {
			commit = linkText(v.Links.Commit, commit)
		}
		fields = append(fields, mrkdwn("*Commit*\n"+commit))
	}
	blocks := []slack.Block{
		section(head),
		slack.NewSectionBlock(nil, fields, nil),
		slack.NewContextBlock("progress", mrkdwn(progressLine(v.Progress))),
	}
	if b := buttons("links", v.Links, v.AwaitingApproval, true); b != nil {
		blocks = append(blocks, b)
	}
	// Slack takes a header only among the message's own blocks, not in an
	// attachment's: the header goes above the coloured bar.
	return bgslack.Message{
		Text:   text,
		Blocks: []slack.Block{slack.NewHeaderBlock(plain(truncate(unescape(v.App)+" → "+unescape(v.Environment), maxHeaderText)))},
		Attachments: []slack.Attachment{{
			Color:    attachmentColor(plan.Stage(unescape(v.Stage)), v.Result),
			Fallback: text,
			Blocks:   slack.Blocks{BlockSet: blocks},
		}},
	}
}

// replyMessage is one stage's message in the thread.
func (n *Notifier) replyMessage(v View, text, reply string) bgslack.Message {
	blocks := []slack.Block{section(reply)}
	for i := 0; i < len(v.Checks); i += maxFields {
		if i == maxCheckSections*maxFields {
			blocks = append(blocks, section(fmt.Sprintf("… and %d more checks in plan.json", len(v.Checks)-i)))
			break
		}
		var fields []*slack.TextBlockObject
		for _, c := range v.Checks[i:min(i+maxFields, len(v.Checks))] {
			fields = append(fields, mrkdwn(truncate(fmt.Sprintf("%s *%s* %s\n%s", c.Emoji, c.Name, c.Verdict, c.Value), maxFieldText)))
		}
		blocks = append(blocks, slack.NewSectionBlock(nil, fields, nil))
	}
	if len(v.Details) > 0 {
		var parts []string
		for _, d := range v.Details {
			parts = append(parts, fmt.Sprintf("*%s*: %s", d.Key, d.Value))
		}
		blocks = append(blocks, slack.NewContextBlock("details", mrkdwn(truncate(strings.Join(parts, "  ·  "), maxSectionText))))
	}
	var links []string
	for _, l := range []struct{ url, text string }{{v.Links.Job, "job log"}, {v.Links.Pipeline, "pipeline"}} {
		// A link cut short would lead nowhere: one that does not fit goes.
		if l.url != "" && len([]rune(strings.Join(append(links, linkText(l.url, l.text)), "  ·  "))) <= maxSectionText {
			links = append(links, linkText(l.url, l.text))
		}
	}
	if len(links) > 0 {
		blocks = append(blocks, slack.NewContextBlock("links", mrkdwn(strings.Join(links, "  ·  "))))
	}
	if v.AwaitingApproval && v.Links.Play != "" && len([]rune(v.Links.Play)) <= maxURL {
		label := "Approve…"
		if plan.Stage(unescape(v.Stage)) == plan.Approve {
			label = "Play again…"
		}
		btn := slack.NewButtonBlockElement("play", "play", plain(label))
		btn.URL = v.Links.Play
		btn.Style = slack.StylePrimary
		blocks = append(blocks, slack.NewActionBlock("play", btn))
	}
	return bgslack.Message{Text: text, Blocks: blocks}
}

// webhookMessage is a stage's message for a webhook, which has no thread:
// the reply, preceded by which deployment it belongs to.
func (n *Notifier) webhookMessage(v View, text, reply string) bgslack.Message {
	m := n.replyMessage(v, text, reply)
	ctx := slack.NewContextBlock("deployment", mrkdwn(fmt.Sprintf("*%s* → *%s*  ·  %s", v.App, v.Environment, progressLine(v.Progress))))
	m.Blocks = append([]slack.Block{ctx}, m.Blocks...)
	return m
}

// buttons are the head's deep links. Slack needs a unique action_id per
// button even for link buttons.
func buttons(id string, l Links, awaiting, withPlay bool) *slack.ActionBlock {
	var els []slack.BlockElement
	add := func(action, label, url string, style slack.Style) {
		if url == "" || len([]rune(url)) > maxURL {
			return // Slack refuses a button whose url is longer
		}
		b := slack.NewButtonBlockElement(action, action, plain(label))
		b.URL, b.Style = url, style
		els = append(els, b)
	}
	if withPlay && awaiting {
		add("play", "Approve…", l.Play, slack.StylePrimary)
	}
	add("pipeline", "Pipeline", l.Pipeline, "")
	add("merge_request", "Merge request", l.MergeRequest, "")
	add("argocd", "Argo CD", l.ArgoCD, "")
	if len(els) == 0 {
		return nil
	}
	return slack.NewActionBlock(id, els...)
}

func progressLine(stages []StageView) string {
	parts := make([]string, len(stages))
	for i, s := range stages {
		parts[i] = s.Emoji + " " + s.Name
	}
	return strings.Join(parts, "  ›  ")
}

func linkText(url, text string) string {
	url = strings.NewReplacer("<", "%3C", ">", "%3E", "|", "%7C").Replace(url)
	return "<" + url + "|" + text + ">"
}

// unescape undoes escape, for plain-text fields and lookups.
func unescape(s string) string {
	return strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&").Replace(s)
}
