// Package directory resolves logins and mail addresses to users and
// authenticates them. The db backend keeps users in the store; the unix and
// ldap backends (later) sync into the same tables, so the store stays the
// one place where tenancy and access are enforced.
package directory

import (
	"fmt"
	"strings"
)

// CheckLogin checks that login has the shape loginname_format requires for
// a user of tenant: "%u" takes any user name, "%u@%c" requires
// "name@tenant" (Kopano's multi-tenant login names). The stored login is
// always the full string the user types.
func CheckLogin(format, login, tenant string) error {
	if format == "" || format == "%u" {
		return nil
	}
	i := strings.Index(format, "%u")
	if i < 0 {
		return fmt.Errorf("loginname_format %q has no %%u", format)
	}
	prefix := strings.ReplaceAll(format[:i], "%c", tenant)
	suffix := strings.ReplaceAll(format[i+2:], "%c", tenant)
	if !strings.HasPrefix(strings.ToLower(login), strings.ToLower(prefix)) ||
		!strings.HasSuffix(strings.ToLower(login), strings.ToLower(suffix)) ||
		len(login) <= len(prefix)+len(suffix) {
		return fmt.Errorf("login %q does not match loginname_format %q for tenant %q (want %s)",
			login, format, tenant, prefix+"NAME"+suffix)
	}
	return nil
}
