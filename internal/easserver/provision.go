package easserver

import (
	"crypto/rand"
	"encoding/binary"
	"strconv"

	"github.com/roost-mail/roost/internal/mail"
	"github.com/roost-mail/roost/internal/proto/eas"
	"github.com/roost-mail/roost/internal/proto/wbxml"
)

const policyTypeWBXML = "MS-EAS-Provisioning-WBXML"

func newPolicyKey() uint32 {
	for {
		var b [4]byte
		rand.Read(b[:])
		// Positive as a signed 32-bit number too: some clients parse it so.
		if k := binary.LittleEndian.Uint32(b[:]) & 0x7fffffff; k != 0 {
			return k
		}
	}
}

func prov(name, v string) *wbxml.Node { return wbxml.Str(eas.Provision, name, v) }

func b01(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// provisionDoc is the EASProvisionDoc of [MS-ASPROV] §2.2.2.27 for the
// policy.
func provisionDoc(p Policy) *wbxml.Node {
	d := wbxml.El(eas.Provision, "EASProvisionDoc",
		prov("DevicePasswordEnabled", b01(p.RequirePassword)),
		prov("AlphanumericDevicePasswordRequired", b01(p.RequirePassword && p.AlphanumericPassword)),
		prov("PasswordRecoveryEnabled", "0"),
		prov("AttachmentsEnabled", "1"))
	if p.RequirePassword && p.MinPasswordLength > 0 {
		d.Add(prov("MinDevicePasswordLength", strconv.Itoa(p.MinPasswordLength)))
	}
	if p.MaxInactivityLock > 0 {
		d.Add(prov("MaxInactivityTimeDeviceLock", strconv.Itoa(p.MaxInactivityLock)))
	}
	if p.RequirePassword && p.MaxFailedAttempts > 0 {
		d.Add(prov("MaxDevicePasswordFailedAttempts", strconv.Itoa(p.MaxFailedAttempts)))
	}
	d.Add(prov("AllowSimpleDevicePassword", b01(!p.AlphanumericPassword)),
		prov("DevicePasswordExpiration", "0"),
		prov("DevicePasswordHistory", "0"),
		prov("AllowStorageCard", "1"),
		prov("AllowCamera", "1"),
		prov("RequireDeviceEncryption", b01(p.RequireEncryption)),
		prov("AllowUnsignedApplications", "1"),
		prov("AllowUnsignedInstallationPackages", "1"),
		prov("MinDevicePasswordComplexCharacters", "1"),
		prov("AllowWiFi", "1"),
		prov("AllowTextMessaging", "1"),
		prov("AllowPOPIMAPEmail", "1"),
		prov("AllowBluetooth", "2"),
		prov("AllowIrDA", "1"),
		prov("RequireManualSyncWhenRoaming", "0"),
		prov("AllowDesktopSync", "1"),
		prov("MaxCalendarAgeFilter", "0"),
		prov("AllowHTMLEmail", "1"),
		prov("MaxEmailAgeFilter", "0"),
		prov("MaxEmailBodyTruncationSize", "-1"),
		prov("MaxEmailHTMLBodyTruncationSize", "-1"),
		prov("RequireSignedSMIMEMessages", "0"),
		prov("RequireEncryptedSMIMEMessages", "0"),
		prov("RequireSignedSMIMEAlgorithm", "0"),
		prov("RequireEncryptionSMIMEAlgorithm", "0"),
		prov("AllowSMIMEEncryptionAlgorithmNegotiation", "2"),
		prov("AllowSMIMESoftCerts", "1"),
		prov("AllowBrowser", "1"),
		prov("AllowConsumerEmail", "1"),
		prov("AllowRemoteDesktop", "1"),
		prov("AllowInternetSharing", "1"))
	return d
}

// provision is the Provision command ([MS-ASPROV] §3.2.5): phase one
// hands out the policy and a temporary key, phase two (the device's
// acknowledgement) the final key; a pending remote wipe is sent instead,
// and the device's confirmation of it recorded.
func provision(c *call, req *wbxml.Node) (*wbxml.Node, error) {
	if req == nil {
		return nil, errStatus(eas.StatusInvalidContent, 400)
	}
	resp := wbxml.El(eas.Provision, "Provision")
	if di := req.Child("DeviceInformation"); di != nil {
		c.setDeviceInformation(di.Child("Set"))
		resp.Add(wbxml.El(eas.Settings, "DeviceInformation", wbxml.Str(eas.Settings, "Status", "1")))
	}
	// The device confirms a wipe.
	if rw := req.Child("RemoteWipe"); rw != nil || req.Child("AccountOnlyRemoteWipe") != nil {
		if c.wipe != nil && c.wipe.State != mail.WipeDone && c.wipe.State != mail.AccountDone {
			w := *c.wipe
			w.State = mail.WipeDone
			if c.wipe.State == mail.WipeAccount {
				w.State = mail.AccountDone
			}
			w.Done = c.s.o.Now().UTC()
			if err := mail.SetWipe(c.ctx, c.s.o.Store, c.st.ID, c.dev.ID, &w); err != nil {
				return nil, err
			}
			c.log.Warn("ActiveSync device confirmed remote wipe", "state", w.State)
			if c.s.o.OnWipe != nil {
				c.s.o.OnWipe(c.ctx, c.p.Login, c.dev.ID, w.State)
			}
		}
		return resp.Add(prov("Status", "1")), nil
	}
	if c.wipe != nil {
		switch {
		case c.wipe.State == mail.WipeAccount || c.wipe.State == mail.AccountDone:
			if c.version < "16.1" {
				// Only 16.1 knows account-only wipe; an older device is
				// refused instead of being erased.
				return nil, errStatus(eas.StatusUserDisabledForSync, 403)
			}
			return resp.Add(prov("Status", "1"), wbxml.El(eas.Provision, "AccountOnlyRemoteWipe")), nil
		default:
			return resp.Add(prov("Status", "1"), wbxml.El(eas.Provision, "RemoteWipe")), nil
		}
	}
	pol := req.Child("Policies").Child("Policy")
	if pol == nil {
		return nil, errStatus(eas.StatusInvalidContent, 400)
	}
	typ := pol.ChildText("PolicyType")
	if typ != policyTypeWBXML {
		return resp.Add(prov("Status", "1"), wbxml.El(eas.Provision, "Policies", wbxml.El(eas.Provision, "Policy",
			prov("PolicyType", typ), prov("Status", "3")))), nil
	}
	var p Policy
	if c.s.o.Policy != nil {
		p = c.s.o.Policy()
	}
	if k := pol.ChildText("PolicyKey"); k != "" {
		// Phase two: the device acknowledges the temporary key.
		n, err := strconv.ParseUint(k, 10, 32)
		ok := err == nil && c.dev.PendingKey != 0 && uint32(n) == c.dev.PendingKey
		if !ok || (pol.ChildText("Status") != "1" && pol.ChildText("Status") != "2") {
			return resp.Add(prov("Status", "1"), wbxml.El(eas.Provision, "Policies", wbxml.El(eas.Provision, "Policy",
				prov("PolicyType", typ), prov("Status", "5")))), nil // 5: the policy key is not valid
		}
		if pol.ChildText("Status") == "2" && (p.RequirePassword || p.RequireEncryption) {
			// The device cannot apply a required policy.
			return nil, errStatus(eas.StatusAccessDenied, 403)
		}
		c.dev.PolicyKey, c.dev.PendingKey, c.dev.Provisioned = newPolicyKey(), 0, c.s.o.Now().UTC()
		if err := c.saveDevice(); err != nil {
			return nil, err
		}
		return resp.Add(prov("Status", "1"), wbxml.El(eas.Provision, "Policies", wbxml.El(eas.Provision, "Policy",
			prov("PolicyType", typ), prov("Status", "1"), prov("PolicyKey", strconv.FormatUint(uint64(c.dev.PolicyKey), 10))))), nil
	}
	// Phase one.
	c.dev.PendingKey = newPolicyKey()
	if err := c.saveDevice(); err != nil {
		return nil, err
	}
	return resp.Add(prov("Status", "1"), wbxml.El(eas.Provision, "Policies", wbxml.El(eas.Provision, "Policy",
		prov("PolicyType", typ), prov("Status", "1"), prov("PolicyKey", strconv.FormatUint(uint64(c.dev.PendingKey), 10)),
		wbxml.El(eas.Provision, "Data", provisionDoc(p))))), nil
}

// setDeviceInformation records what a device says of itself
// (settings:DeviceInformation/Set, [MS-ASCMD] §2.2.3.45).
func (c *call) setDeviceInformation(set *wbxml.Node) {
	if set == nil {
		return
	}
	cut := func(s string) string {
		if len(s) > 256 {
			return s[:256]
		}
		return s
	}
	d := c.dev
	for _, f := range []struct {
		name string
		p    *string
	}{{"Model", &d.Model}, {"IMEI", &d.IMEI}, {"FriendlyName", &d.FriendlyName}, {"OS", &d.OS},
		{"OSLanguage", &d.OSLanguage}, {"PhoneNumber", &d.PhoneNumber}, {"MobileOperator", &d.Operator}, {"UserAgent", &d.UserAgent}} {
		if n := set.Child(f.name); n != nil {
			*f.p = cut(n.Content())
		}
	}
}
