package slackfake

import (
	"encoding/json"
	"fmt"
	"unicode/utf8"

	"github.com/slack-go/slack"
)

// Slack's documented limits on a message (chat.postMessage, chat.update,
// incoming webhooks), from the Block Kit reference: blocks/section-block,
// header-block, context-block, actions-block, block-elements/button-element,
// and chat.postMessage's text.
const (
	MaxText         = 40000 // a message's text
	MaxBlocks       = 50    // blocks in a message, and in each attachment
	MaxSectionText  = 3000  // a section's text
	MaxFields       = 10    // a section's fields
	MaxFieldText    = 2000  // each field
	MaxHeaderText   = 150   // a header's plain_text
	MaxContextElems = 10    // a context's elements
	MaxActionElems  = 25    // an actions block's elements
	MaxButtonText   = 75    // a button's plain_text
	MaxButtonURL    = 3000  // a button's url
	MaxButtonValue  = 2000  // a button's value
	MaxID           = 255   // block_id, action_id
	MaxTextObject   = 3000  // any other text object
)

// messageBlocks are the block types a message may hold; an alert, for
// one, is for modals only.
var messageBlocks = map[slack.MessageBlockType]bool{
	slack.MBTAction: true, slack.MBTContext: true, slack.MBTContextActions: true, slack.MBTDivider: true,
	slack.MBTFile: true, slack.MBTHeader: true, slack.MBTImage: true, slack.MBTInput: true,
	slack.MBTRichText: true, slack.MBTSection: true, slack.MBTCall: true, slack.MBTVideo: true,
	slack.MBTMarkdown: true, slack.MBTTable: true, slack.MBTTaskCard: true, slack.MBTPlan: true,
}

// Refusal is why Slack refuses a message: its error code and the
// response_metadata.messages it sends along, each naming a JSON pointer.
type Refusal struct {
	Code     string   // invalid_blocks, invalid_attachments, msg_too_long, no_text
	Messages []string // e.g. "[ERROR] must be less than 3001 characters [json-pointer:/blocks/0/text/text]"
}

// Validate checks a message's text, blocks and attachments (as JSON, as
// sent) against Slack's structure and limits for messages, and returns
// what Slack would refuse it for, or nil. A header is allowed only in the
// message's own blocks, not in an attachment's.
func Validate(text string, blocks, attachments json.RawMessage) *Refusal {
	if utf8.RuneCountInString(text) > MaxText {
		return &Refusal{Code: "msg_too_long"}
	}
	v := &validator{}
	if len(blocks) > 0 {
		var bs []json.RawMessage
		if json.Unmarshal(blocks, &bs) != nil {
			return &Refusal{Code: "invalid_blocks_format"}
		}
		v.blocks("/blocks", bs, true)
		if len(v.msgs) > 0 {
			return &Refusal{Code: "invalid_blocks", Messages: v.msgs}
		}
	}
	var as []struct {
		Blocks []json.RawMessage `json:"blocks"`
	}
	if len(attachments) > 0 {
		if json.Unmarshal(attachments, &as) != nil {
			return &Refusal{Code: "invalid_attachments"}
		}
		for i, a := range as {
			v.blocks(fmt.Sprintf("/attachments/%d/blocks", i), a.Blocks, false)
		}
		if len(v.msgs) > 0 {
			return &Refusal{Code: "invalid_attachments", Messages: v.msgs}
		}
	}
	if text == "" && len(blocks) == 0 && len(as) == 0 {
		return &Refusal{Code: "no_text"}
	}
	return nil
}

type validator struct{ msgs []string }

func (v *validator) errorf(ptr, format string, a ...any) {
	v.msgs = append(v.msgs, fmt.Sprintf("[ERROR] "+format+" [json-pointer:%s]", append(a, ptr)...))
}

// textObject is a composition text object.
type textObject struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

type block struct {
	Type     string            `json:"type"`
	BlockID  string            `json:"block_id"`
	Text     *textObject       `json:"text"`
	Fields   []json.RawMessage `json:"fields"`
	Elements []json.RawMessage `json:"elements"`
}

type element struct {
	Type     string      `json:"type"`
	Text     *textObject `json:"text"`
	ActionID string      `json:"action_id"`
	URL      string      `json:"url"`
	Value    string      `json:"value"`
}

func (v *validator) blocks(ptr string, bs []json.RawMessage, top bool) {
	if len(bs) > MaxBlocks {
		v.errorf(ptr, "no more than %d items allowed", MaxBlocks)
	}
	ids := map[string]bool{}
	for i, raw := range bs {
		p := fmt.Sprintf("%s/%d", ptr, i)
		var b block
		if err := json.Unmarshal(raw, &b); err != nil {
			v.errorf(p, "failed to match all allowed schemas")
			continue
		}
		switch {
		case !messageBlocks[slack.MessageBlockType(b.Type)]:
			v.errorf(p+"/type", "unsupported type: %s", b.Type)
			continue
		case b.Type == "header" && !top:
			v.errorf(p, "header blocks are only allowed at the top level of a message")
		}
		if b.BlockID != "" {
			v.length(p+"/block_id", b.BlockID, MaxID)
			if ids[b.BlockID] {
				v.errorf(p+"/block_id", "duplicate block_id: %s", b.BlockID)
			}
			ids[b.BlockID] = true
		}
		switch b.Type {
		case "header":
			v.text(p+"/text", b.Text, MaxHeaderText, true, "plain_text")
		case "section":
			v.section(p, b)
		case "context":
			v.items(p+"/elements", len(b.Elements), MaxContextElems)
			for j, e := range b.Elements {
				var el element
				if json.Unmarshal(e, &el) == nil && (el.Type == "mrkdwn" || el.Type == "plain_text") {
					v.text(fmt.Sprintf("%s/elements/%d", p, j), &textObject{Type: el.Type, Text: textOf(e)}, MaxTextObject, true)
				}
			}
		case "actions":
			v.items(p+"/elements", len(b.Elements), MaxActionElems)
			v.actions(p, b.Elements)
		}
	}
}

func (v *validator) section(p string, b block) {
	if b.Text == nil && len(b.Fields) == 0 {
		v.errorf(p, "must provide either text or fields")
	}
	if b.Text != nil {
		v.text(p+"/text", b.Text, MaxSectionText, true)
	}
	if len(b.Fields) > MaxFields {
		v.errorf(p+"/fields", "no more than %d items allowed", MaxFields)
	}
	for j, f := range b.Fields {
		var t textObject
		if json.Unmarshal(f, &t) != nil {
			v.errorf(fmt.Sprintf("%s/fields/%d", p, j), "failed to match all allowed schemas")
			continue
		}
		v.text(fmt.Sprintf("%s/fields/%d", p, j), &t, MaxFieldText, true)
	}
}

func (v *validator) actions(p string, els []json.RawMessage) {
	ids := map[string]bool{}
	for j, e := range els {
		ep := fmt.Sprintf("%s/elements/%d", p, j)
		var el element
		if err := json.Unmarshal(e, &el); err != nil || el.Type == "" {
			v.errorf(ep, "failed to match all allowed schemas")
			continue
		}
		if el.ActionID != "" {
			v.length(ep+"/action_id", el.ActionID, MaxID)
			if ids[el.ActionID] {
				v.errorf(ep+"/action_id", "duplicate action_id: %s", el.ActionID)
			}
			ids[el.ActionID] = true
		}
		if el.Type != "button" {
			continue
		}
		v.text(ep+"/text", el.Text, MaxButtonText, true, "plain_text")
		v.length(ep+"/url", el.URL, MaxButtonURL)
		v.length(ep+"/value", el.Value, MaxButtonValue)
	}
}

// text checks a text object: present when required, of one of types (any
// when none are given), with 1 to max characters.
func (v *validator) text(p string, t *textObject, max int, required bool, types ...string) {
	if t == nil {
		if required {
			v.errorf(p, "must provide an object")
		}
		return
	}
	if t.Type != "plain_text" && t.Type != "mrkdwn" {
		v.errorf(p, "failed to match all allowed schemas")
		return
	}
	if len(types) > 0 && t.Type != types[0] {
		v.errorf(p+"/type", "must be one of [%s]", types[0])
	}
	if t.Text == "" {
		v.errorf(p+"/text", "must be more than 0 characters")
	}
	v.length(p+"/text", t.Text, max)
}

func (v *validator) length(p, s string, max int) {
	if utf8.RuneCountInString(s) > max {
		v.errorf(p, "must be less than %d characters", max+1)
	}
}

func (v *validator) items(p string, n, max int) {
	if n > max {
		v.errorf(p, "no more than %d items allowed", max)
	}
}

func textOf(raw json.RawMessage) string {
	var t textObject
	_ = json.Unmarshal(raw, &t)
	return t.Text
}
