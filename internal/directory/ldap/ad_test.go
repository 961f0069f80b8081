package ldap_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/roost-mail/roost/internal/config"
	"github.com/roost-mail/roost/internal/directory/ldap"
	"github.com/roost-mail/roost/internal/store"
	"github.com/roost-mail/roost/internal/testenv"
)

// TestADPreset runs ldap_preset = "ad" (through FromConfig) against a
// slapd holding AD-like entries (testenv.ADSchema): login by
// sAMAccountName, the binary objectGUID as the link, the disabled bit
// of userAccountControl, proxyAddresses as aliases, and groups by
// objectClass group: groupType's security bit, nested members.
func TestADPreset(t *testing.T) {
	srv := testenv.StartSlapdSchema(t, testenv.ADSchema)
	guid := func(i int) string {
		b := make([]byte, 16)
		b[0], b[15] = byte(i), 0xff // binary, not valid UTF-8
		return base64.StdEncoding.EncodeToString(b)
	}
	user := func(i int, sam, uac string, extra ...string) string {
		s := fmt.Sprintf("dn: cn=%s,%s\nobjectClass: user\nobjectCategory: person\ncn: %s\nsn: X\nsAMAccountName: %s\n"+
			"objectGUID:: %s\nuserAccountControl: %s\ndisplayName: %s Corp\nmail: %s@corp.example\nuserPassword: %s-pw\n",
			sam, testenv.SlapdPeople, sam, sam, guid(i), uac, strings.ToUpper(sam[:1])+sam[1:], sam, sam)
		for _, e := range extra {
			s += e + "\n"
		}
		return s + "\n"
	}
	grp := func(cn, groupType string, members ...string) string {
		s := fmt.Sprintf("dn: cn=%s,%s\nobjectClass: group\ncn: %s\ngroupType: %s\nmail: %s@corp.example\n", cn, testenv.SlapdSuffix, cn, groupType, cn)
		for _, m := range members {
			s += "member: " + m + "\n"
		}
		return s + "\n"
	}
	dn := func(cn string) string { return "cn=" + cn + "," + testenv.SlapdPeople }
	gdn := func(cn string) string { return "cn=" + cn + "," + testenv.SlapdSuffix }
	srv.Add(user(1, "ann", "512") + user(2, "bob", "514") +
		user(3, "carl", "66048", "proxyAddresses: SMTP:carl@corp.example", "proxyAddresses: smtp:C.Smith@corp.example", "proxyAddresses: X400:c=US;a= ;p=Corp") +
		grp("inner", "-2147483646", dn("carl")) + grp("outer", "-2147483644", dn("ann"), gdn("inner")) + grp("news", "2", dn("bob")))

	lc, err := ldap.FromConfig(&config.Config{LDAPPreset: "ad", LDAPURI: srv.URI, LDAPBindUser: testenv.SlapdSvcDN,
		LDAPBindPasswd: testenv.SlapdSvcPW, LDAPSearchBase: testenv.SlapdSuffix, LDAPTenant: "corp", LDAPNetworkTimeout: 5, LDAPPageSize: 2})
	if err != nil {
		t.Fatal(err)
	}
	e := newEnvOn(t, srv, func(c *ldap.Config) { *c = lc })
	sum, err := e.dir.Sync(context.Background(), nil)
	if err != nil || sum.Created != 3 || sum.Groups != 3 || sum.Failed != 0 {
		t.Fatalf("sync %+v %v\n%s", sum, err, e.logs)
	}
	ann := e.user(t, "ann")
	if ann.ExternalID != "objectGUID:01"+strings.Repeat("00", 14)+"ff" || ann.FullName != "Ann Corp" || !ann.Active || ann.Tenant != "corp" {
		t.Fatalf("ann %+v", ann)
	}
	if e.user(t, "bob").Active {
		t.Errorf("bob has the ACCOUNTDISABLE bit")
	}
	if c := e.user(t, "carl"); !c.Active || !slices.Equal(c.Aliases, []string{"c.smith@corp.example"}) {
		t.Errorf("carl %+v", c)
	}
	if p, err := e.login("ann", "ann-pw"); err != nil || p.Login != "ann" {
		t.Fatalf("login by sAMAccountName: %+v %v", p, err)
	}
	if p, err := e.login("c.smith@corp.example", "carl-pw"); err != nil || p.Login != "carl" {
		t.Fatalf("login by a proxyAddresses alias: %+v %v", p, err)
	}
	sys := store.SystemContext(context.Background())
	outer, err := e.db.GetGroup(sys, "corp", "outer")
	if err != nil || outer.Kind != store.GroupSecurity || !slices.Equal(sorted(outer.Members), []string{"ann", "carl"}) {
		t.Fatalf("outer %+v %v", outer, err)
	}
	if news, _ := e.db.GetGroup(sys, "corp", "news"); news.Kind != store.GroupDistribution || news.Email != "news@corp.example" {
		t.Fatalf("news %+v", news)
	}
}

func sorted(s []string) []string { s = slices.Clone(s); slices.Sort(s); return s }
