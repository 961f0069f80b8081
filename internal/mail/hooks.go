package mail

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/roost-mail/roost/internal/store"
)

// Hook is a delivery hook. Exactly one of PublicFolder, Command and URL is
// set.
//
// PublicFolder is the built-in "deliver to public folder" (kopano-dagent
// -P): mail for the hook's recipients is stored in that folder of their
// tenant's public store instead of their private store; Sieve,
// out-of-office and the other hooks do not run for it. A missing public
// store or folder is a temporary delivery error (the MTA retries; nothing
// was stored).
//
// Command and URL are external hooks, run after the message is stored:
// Command is run with the message on stdin, URL gets it in a POST
// (Content-Type: message/rfc822). Both get the envelope and the result
// (ROOST_SENDER, ROOST_RECIPIENT, ROOST_USER, ROOST_TENANT,
// ROOST_FOLDER_ID, ROOST_UID as environment variables; the same as
// X-Roost-* request headers). A failing external hook (non-zero exit,
// non-2xx answer, timeout) is logged and delivery counts as done: the
// message is already stored, and a temporary error would make the MTA
// deliver it a second time.
type Hook struct {
	Name string
	// Recipients limits the hook to these logins or addresses
	// (case-insensitive); empty = every recipient.
	Recipients   []string
	PublicFolder string // folder path in the public store, "/"-separated
	Command      []string
	URL          string
	Timeout      time.Duration // external hooks; 0 = 30 seconds
}

func (h *Hook) applies(u *store.User, env Envelope) bool {
	if len(h.Recipients) == 0 {
		return true
	}
	for _, r := range h.Recipients {
		if strings.EqualFold(r, u.Login) || strings.EqualFold(r, u.Email) || strings.EqualFold(r, env.To) {
			return true
		}
	}
	return false
}

// publicTarget returns the public folder the first matching public-folder
// hook names, or 0.
func (d *Deliverer) publicTarget(ctx context.Context, u *store.User, env Envelope) (int64, error) {
	for i := range d.Hooks {
		h := &d.Hooks[i]
		if h.PublicFolder == "" || !h.applies(u, env) {
			continue
		}
		t, err := d.Store.GetTenant(ctx, u.Tenant)
		if err != nil {
			return 0, fmt.Errorf("hook %s: tenant %s: %w", h.Name, u.Tenant, err)
		}
		if t.PublicStoreID == 0 {
			return 0, fmt.Errorf("hook %s: tenant %s has no public store", h.Name, u.Tenant)
		}
		fs, err := d.Store.ListFolders(ctx, t.PublicStoreID)
		if err != nil {
			return 0, fmt.Errorf("hook %s: public folders: %w", h.Name, err)
		}
		var cur int64
		for _, name := range strings.Split(strings.Trim(h.PublicFolder, "/"), "/") {
			var next int64
			for _, f := range fs {
				if !f.Deleted && f.ParentID == cur && strings.EqualFold(f.Name, name) {
					next = f.ID
					break
				}
			}
			if next == 0 {
				return 0, fmt.Errorf("hook %s: public folder %q does not exist", h.Name, h.PublicFolder)
			}
			cur = next
		}
		return cur, nil
	}
	return 0, nil
}

func (d *Deliverer) runHooks(ctx context.Context, u *store.User, env Envelope, msg *message, res Result) {
	for i := range d.Hooks {
		h := &d.Hooks[i]
		if h.PublicFolder != "" || !h.applies(u, env) {
			continue
		}
		timeout := h.Timeout
		if timeout <= 0 {
			timeout = 30 * time.Second
		}
		hctx, cancel := context.WithTimeout(ctx, timeout)
		vars := []hookVar{{"SENDER", "Sender", env.From}, {"RECIPIENT", "Recipient", env.To},
			{"USER", "User", u.Login}, {"TENANT", "Tenant", u.Tenant},
			{"FOLDER_ID", "Folder-Id", strconv.FormatInt(res.FolderID, 10)},
			{"UID", "Uid", strconv.FormatUint(uint64(res.UID), 10)}}
		var err error
		switch {
		case len(h.Command) > 0:
			err = runCommandHook(hctx, h.Command, vars, msg.reader())
		case h.URL != "":
			err = postHook(hctx, h.URL, vars, msg.reader(), msg.size)
		}
		cancel()
		if err != nil {
			d.log().Warn("delivery hook failed; delivery continues", "hook", h.Name, "user", u.Login, "err", err)
		} else {
			d.log().Debug("delivery hook ran", "hook", h.Name, "user", u.Login)
		}
	}
}

// hookVar is one value handed to an external hook: as the environment
// variable ROOST_<env> and the request header X-Roost-<header>.
type hookVar struct{ env, header, value string }

func runCommandHook(ctx context.Context, argv []string, vars []hookVar, body io.Reader) error {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Stdin = body
	cmd.Env = os.Environ()
	for _, v := range vars {
		cmd.Env = append(cmd.Env, "ROOST_"+v.env+"="+v.value)
	}
	var out bytes.Buffer
	cmd.Stdout = &limitedBuffer{b: &out, n: 4096}
	cmd.Stderr = cmd.Stdout
	cmd.WaitDelay = time.Second
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("%s: timed out: %w", argv[0], ctx.Err())
		}
		return fmt.Errorf("%s: %w: %s", argv[0], err, strings.TrimSpace(out.String()))
	}
	return nil
}

func postHook(ctx context.Context, url string, vars []hookVar, body io.Reader, size int64) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, body)
	if err != nil {
		return err
	}
	req.ContentLength = size
	req.Header.Set("Content-Type", "message/rfc822")
	for _, v := range vars {
		req.Header.Set("X-Roost-"+v.header, v.value)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("POST %s: %s", url, resp.Status)
	}
	return nil
}
