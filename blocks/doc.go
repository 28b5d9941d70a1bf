// Package blocks turns accessbot's domain values into Slack Block Kit: task
// cards (an assignee's DM, the requester's status message, a channel post)
// and the modals opened from them (details, reassign, edit duration, comment,
// decision with comment), and the App Home (home.go: tabs of tasks, a page
// at a time, with their buttons and checkboxes for bulk actions, and the
// bulk action's comment and result modals).
//
// It is pure: domain values in, slack-go Block Kit values out, no I/O and no
// clock (the time is passed in). The bot package calls it and sends what it
// returns.
//
// The identifiers the bot routes on are constants here: action IDs of the
// buttons and of the overflow menu (ids.go), the values they carry
// (EncodeRef, EncodeOption: the task and the revision the card showed, so a
// click on a card whose task moved on is recognised as stale), callback IDs
// of the modals and their input block and action IDs, and the modals'
// private_metadata (ModalMeta).
//
// Every text is cut to Slack's documented limits (limits.go), and every
// output keeps within the block counts of a message (50) or a view (100), so
// no domain value, however large, makes Slack answer invalid_blocks. Tests
// compare the rendered JSON with golden files under testdata/; run
//
//	go test ./blocks -update
//
// to rewrite them after a deliberate change, and read the diff.
package blocks
