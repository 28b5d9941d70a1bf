package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"reflect"
	"sort"
	"strings"
	"sync"
	"syscall"

	"github.com/rs/zerolog"

	"accessbot/bot"
	"accessbot/config"
	"accessbot/workflow"
)

// reloader re-reads the configuration file and puts it in force only when
// it is valid; otherwise the configuration running keeps running and the
// error lists every problem with its path. Running tasks keep the policy
// they snapshotted (a hard reset applies the new one).
func reloader(path string, engine *workflow.Engine, log zerolog.Logger) bot.ReloadFunc {
	var mu sync.Mutex // two reloads at once would race on "what changed"
	return func(ctx context.Context, actor string) (string, error) {
		mu.Lock()
		defer mu.Unlock()
		cat, err := config.Load(path)
		if err != nil {
			log.Warn().Str("config", path).Str("by", actor).Str("problems", err.Error()).Msg("configuration reload refused; the running configuration stays")
			return "", fmt.Errorf("%s:\n%w", path, err)
		}
		if cat.Email != engine.Catalog().Email {
			// The email worker starts (or not) with the process: adding or
			// removing the email: section takes a restart.
			log.Warn().Str("config", path).Msg("the email: section was added or removed; restart accessbot to apply it (the running email channel stays as it was)")
			cat.Email = engine.Catalog().Email
		}
		summary := config.Summary(cat) + "; " + catalogChanges(engine.Catalog(), cat)
		// Recorded first: a configuration nobody can trace is not put in force.
		if err := engine.RecordReload(ctx, actor, summary); err != nil {
			log.Error().Err(err).Str("config", path).Msg("configuration reload not recorded; not applied")
			return "", fmt.Errorf("the reload could not be written to the audit log, so it was not applied: %w", err)
		}
		engine.SetCatalog(cat)
		log.Info().Str("config", path).Str("by", actor).Str("summary", summary).Msg("configuration reloaded")
		return summary, nil
	}
}

// catalogChanges names the policies and apps a reload added, removed or
// changed, and whether people, groups, admins or reminders changed.
func catalogChanges(old, cur *workflow.Catalog) string {
	var parts []string
	diff := func(what string, a, b map[string]any) {
		var added, removed, changed []string
		for k, v := range b {
			if w, ok := a[k]; !ok {
				added = append(added, k)
			} else if !reflect.DeepEqual(v, w) {
				changed = append(changed, k)
			}
		}
		for k := range a {
			if _, ok := b[k]; !ok {
				removed = append(removed, k)
			}
		}
		for _, l := range []struct {
			verb  string
			names []string
		}{{"added", added}, {"removed", removed}, {"changed", changed}} {
			if len(l.names) > 0 {
				sort.Strings(l.names)
				parts = append(parts, fmt.Sprintf("%s %s: %s", what, l.verb, strings.Join(l.names, ", ")))
			}
		}
	}
	policies := func(c *workflow.Catalog) map[string]any {
		m := map[string]any{}
		for k, v := range c.Policies {
			m[k] = v
		}
		return m
	}
	apps := func(c *workflow.Catalog) map[string]any {
		m := map[string]any{}
		for _, a := range c.Apps {
			m[a.ID] = a
		}
		return m
	}
	diff("policies", policies(old), policies(cur))
	diff("apps", apps(old), apps(cur))
	for _, f := range []struct {
		name string
		a, b any
	}{{"people", old.People, cur.People}, {"groups", old.Groups, cur.Groups}, {"admins", old.Admins, cur.Admins}, {"reminders", old.Reminders, cur.Reminders}} {
		if !reflect.DeepEqual(f.a, f.b) {
			parts = append(parts, f.name+" changed")
		}
	}
	if len(parts) == 0 {
		return "nothing changed"
	}
	return strings.Join(parts, "; ")
}

// reloadOnHangup reloads the configuration on every SIGHUP until ctx ends.
// Registering for SIGHUP also keeps it from killing the process.
func reloadOnHangup(ctx context.Context, reload bot.ReloadFunc, log zerolog.Logger) (stop func()) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				// reload logs its own outcome.
				_, _ = reload(ctx, "SIGHUP")
			}
		}
	}()
	return func() {
		signal.Stop(hup)
		<-done
	}
}
