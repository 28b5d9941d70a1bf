package fakeslack_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"accessbot/fakeslack"
)

type apiResp struct {
	OK               bool   `json:"ok"`
	Error            string `json:"error"`
	ResponseMetadata struct {
		Messages []string `json:"messages"`
	} `json:"response_metadata"`
}

// callJSON posts a JSON body the way non-slack-go clients (and slack-go's views.*) do.
func callJSON(t *testing.T, srv *fakeslack.Server, method string, body any) apiResp {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, srv.APIURL()+method, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("Authorization", "Bearer "+srv.BotToken())
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var out apiResp
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
	return out
}

func txt(s string) map[string]any     { return map[string]any{"type": "plain_text", "text": s} }
func mrkdwn(s string) map[string]any  { return map[string]any{"type": "mrkdwn", "text": s} }
func section(s string) map[string]any { return map[string]any{"type": "section", "text": mrkdwn(s)} }
func opt(v string) map[string]any     { return map[string]any{"text": txt(v), "value": v} }
func btn(id string) map[string]any {
	return map[string]any{"type": "button", "action_id": id, "text": txt("Go"), "value": "v"}
}
func repeat(n int, f func(i int) any) []any {
	out := make([]any, n)
	for i := range out {
		out[i] = f(i)
	}
	return out
}

func TestMessageBlockLimits(t *testing.T) {
	srv, _ := newServer(t, fakeslack.Options{})
	srv.AddChannel("C1", "general", true)
	long := func(n int) string { return strings.Repeat("a", n) }
	cases := []struct {
		name    string
		blocks  []any
		wantErr string // substring of a response_metadata message; "" = accepted
	}{
		{"ok", []any{section("hi"), map[string]any{"type": "actions", "elements": []any{btn("a")}}}, ""},
		{"section text 3000", []any{section(long(3000))}, ""},
		{"section text 3001", []any{section(long(3001))}, "/blocks/0/text/text"},
		{"empty section", []any{map[string]any{"type": "section"}}, "section needs text or fields"},
		{"11 fields", []any{map[string]any{"type": "section", "fields": repeat(11, func(int) any { return mrkdwn("f") })}}, "/blocks/0/fields"},
		{"field 2001", []any{map[string]any{"type": "section", "fields": []any{mrkdwn(long(2001))}}}, "/blocks/0/fields/0/text"},
		{"header 151", []any{map[string]any{"type": "header", "text": txt(long(151))}}, "/blocks/0/text/text"},
		{"header mrkdwn", []any{map[string]any{"type": "header", "text": mrkdwn("x")}}, "must be plain_text"},
		{"26 elements", []any{map[string]any{"type": "actions", "elements": repeat(26, func(i int) any { return btn(fmt.Sprint(i)) })}}, "must be less than 26 items"},
		{"dup action_id", []any{map[string]any{"type": "actions", "elements": []any{btn("a"), btn("a")}}}, "duplicate action_id"},
		{"dup block_id", []any{map[string]any{"type": "divider", "block_id": "x"}, map[string]any{"type": "divider", "block_id": "x"}}, "duplicate block_id"},
		{"block_id 256", []any{map[string]any{"type": "divider", "block_id": long(256)}}, "/blocks/0/block_id"},
		{"11 context", []any{map[string]any{"type": "context", "elements": repeat(11, func(int) any { return mrkdwn("c") })}}, "/blocks/0/elements"},
		{"button value 2001", []any{map[string]any{"type": "actions", "elements": []any{map[string]any{"type": "button", "text": txt("x"), "value": long(2001)}}}}, "/value"},
		{"bad style", []any{map[string]any{"type": "actions", "elements": []any{map[string]any{"type": "button", "text": txt("x"), "style": "red"}}}}, "/style"},
		{"101 options", []any{map[string]any{"type": "actions", "elements": []any{map[string]any{"type": "static_select", "placeholder": txt("p"), "options": repeat(101, func(i int) any { return opt(fmt.Sprint(i)) })}}}}, "/options"},
		{"option text 76", []any{map[string]any{"type": "actions", "elements": []any{map[string]any{"type": "static_select", "options": []any{map[string]any{"text": txt(long(76)), "value": "v"}}}}}}, "/options/0/text/text"},
		{"initial option missing", []any{map[string]any{"type": "actions", "elements": []any{map[string]any{"type": "static_select", "options": []any{opt("a")}, "initial_option": opt("b")}}}}, "not one of the options"},
		{"11 checkboxes", []any{map[string]any{"type": "actions", "elements": []any{map[string]any{"type": "checkboxes", "options": repeat(11, func(i int) any { return opt(fmt.Sprint(i)) })}}}}, "/options"},
		{"6 overflow", []any{map[string]any{"type": "actions", "elements": []any{map[string]any{"type": "overflow", "options": repeat(6, func(i int) any { return opt(fmt.Sprint(i)) })}}}}, "/options"},
		{"confirm title 101", []any{map[string]any{"type": "actions", "elements": []any{map[string]any{"type": "button", "text": txt("x"), "confirm": map[string]any{"title": txt(long(101)), "text": mrkdwn("sure?")}}}}}, "/confirm/title/text"},
		{"unknown block", []any{map[string]any{"type": "carousel_of_dreams"}}, "unsupported block type"},
		{"empty text", []any{section("")}, "more than 0 characters"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := callJSON(t, srv, "chat.postMessage", map[string]any{"channel": "C1", "text": "t", "blocks": tc.blocks})
			if tc.wantErr == "" {
				assert.True(t, r.OK, "%v", r)
				return
			}
			assert.Equal(t, "invalid_blocks", r.Error)
			assert.Contains(t, strings.Join(r.ResponseMetadata.Messages, "\n"), tc.wantErr)
		})
	}

	// Form posts with blocks as a JSON string, like slack-go's.
	form := url.Values{"token": {srv.BotToken()}, "channel": {"C1"}, "blocks": {`[{"type":"divider"}`}}
	resp, err := http.PostForm(srv.APIURL()+"chat.postMessage", form)
	require.NoError(t, err)
	defer resp.Body.Close()
	var r apiResp
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&r))
	assert.Equal(t, "invalid_blocks_format", r.Error)
}

func TestViewLimits(t *testing.T) {
	srv, _ := newServer(t, fakeslack.Options{})
	srv.AddUser(fakeslack.User{ID: "U1"})
	input := map[string]any{"type": "input", "block_id": "i", "label": txt("L"), "element": map[string]any{"type": "plain_text_input", "action_id": "a"}}
	modal := func(mut func(v map[string]any)) map[string]any {
		v := map[string]any{"type": "modal", "title": txt("T"), "submit": txt("OK"), "blocks": []any{input}}
		mut(v)
		return v
	}
	cases := []struct {
		name    string
		view    map[string]any
		wantErr string
	}{
		{"ok", modal(func(map[string]any) {}), ""},
		{"no title", modal(func(v map[string]any) { delete(v, "title") }), "/view/title"},
		{"submit 25", modal(func(v map[string]any) { v["submit"] = txt(strings.Repeat("s", 25)) }), "/view/submit/text"},
		{"input without submit", modal(func(v map[string]any) { delete(v, "submit") }), "submit is required"},
		{"private_metadata 3001", modal(func(v map[string]any) { v["private_metadata"] = strings.Repeat("m", 3001) }), "/view/private_metadata"},
		{"callback_id 256", modal(func(v map[string]any) { v["callback_id"] = strings.Repeat("c", 256) }), "/view/callback_id"},
		{"101 blocks", modal(func(v map[string]any) {
			v["blocks"] = repeat(101, func(int) any { return map[string]any{"type": "divider"} })
		}), "must be less than 101 items"},
		{"home type", modal(func(v map[string]any) { v["type"] = "home" }), "/view/type"},
		{"button in input", modal(func(v map[string]any) {
			v["blocks"] = []any{map[string]any{"type": "input", "label": txt("L"), "element": btn("b")}}
		}), "cannot be used in an input block"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := callJSON(t, srv, "views.open", map[string]any{"trigger_id": srv.MintTrigger("U1", 0), "view": tc.view})
			if tc.wantErr == "" {
				assert.True(t, r.OK, "%v", r)
				return
			}
			assert.Equal(t, "invalid_arguments", r.Error)
			assert.Contains(t, strings.Join(r.ResponseMetadata.Messages, "\n"), tc.wantErr)
		})
	}
	// 100 blocks is fine on a Home tab.
	home := map[string]any{"type": "home", "blocks": repeat(100, func(int) any { return map[string]any{"type": "divider"} })}
	assert.True(t, callJSON(t, srv, "views.publish", map[string]any{"user_id": "U1", "view": home}).OK)
}
