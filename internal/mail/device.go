package mail

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/roost-mail/roost/internal/store"
)

// Mobile devices (ActiveSync): each device a user syncs is recorded in
// the user's store properties, in three keys so that writers never
// overwrite each other's fields: "eas/device/ID" (what the device says
// of itself and its policy state, written by the device's requests),
// "eas/wipe/ID" (a remote wipe an administrator asked for, and when the
// device confirmed it) and "eas/sync/ID" (the journal position each
// collection was last synced to, for Ping). A user has at most
// MaxDevices devices.

// MaxDevices bounds the devices of one user.
const MaxDevices = 20

// ErrDeviceLimit is returned when a user already has MaxDevices devices.
var ErrDeviceLimit = errors.New("too many devices")

const (
	propDevice = "eas/device/"
	propWipe   = "eas/wipe/"
	propSync   = "eas/sync/"
)

// Device is what a mobile device told the server about itself, and its
// policy state.
type Device struct {
	ID           string    `json:"id"`
	Type         string    `json:"type"`
	Model        string    `json:"model,omitempty"`
	IMEI         string    `json:"imei,omitempty"`
	FriendlyName string    `json:"friendly_name,omitempty"`
	OS           string    `json:"os,omitempty"`
	OSLanguage   string    `json:"os_language,omitempty"`
	PhoneNumber  string    `json:"phone_number,omitempty"`
	Operator     string    `json:"mobile_operator,omitempty"`
	UserAgent    string    `json:"user_agent,omitempty"`
	Version      string    `json:"protocol_version,omitempty"`
	FirstSync    time.Time `json:"first_sync"`
	LastSync     time.Time `json:"last_sync"`
	// PolicyKey is the key the device acknowledged (0: not provisioned);
	// PendingKey the one issued in the first Provision phase.
	PolicyKey   uint32    `json:"policy_key,omitempty"`
	PendingKey  uint32    `json:"pending_key,omitempty"`
	Provisioned time.Time `json:"provisioned,omitzero"`
	// PingFolders are the collections of the last Ping (a Ping may omit
	// them to repeat them) and its heartbeat in seconds.
	PingFolders []string `json:"ping_folders,omitempty"`
	PingSeconds int      `json:"ping_seconds,omitempty"`
}

// Wipe states.
const (
	WipeRequested = "requested" // the device is to be wiped at its next request
	WipeAccount   = "account"   // only the account's data (16.1 AccountOnlyRemoteWipe)
	WipeDone      = "done"      // the device confirmed the wipe
	AccountDone   = "account-done"
)

// Wipe is a remote wipe of a device.
type Wipe struct {
	State     string    `json:"state"`
	By        string    `json:"by,omitempty"`
	Requested time.Time `json:"requested"`
	Done      time.Time `json:"done,omitzero"`
}

// DeviceStatus is a device with its wipe state, as listed.
type DeviceStatus struct {
	Device
	Login string `json:"login"`
	Wipe  *Wipe  `json:"wipe,omitempty"`
}

// DeviceProps is the part of the store the device records need.
type DeviceProps interface {
	UserStore(ctx context.Context, login string) (*store.Store, error)
	StorePropsPrefix(ctx context.Context, storeID int64, prefix string) (map[string]string, error)
	SetStoreProps(ctx context.Context, storeID int64, set map[string]*string) error
}

// Devices lists a user's devices, by id.
func Devices(ctx context.Context, b DeviceProps, login string) ([]DeviceStatus, error) {
	st, err := b.UserStore(ctx, login)
	if err != nil {
		return nil, fmt.Errorf("store of %s: %w", login, err)
	}
	props, err := b.StorePropsPrefix(ctx, st.ID, "eas/")
	if err != nil {
		return nil, fmt.Errorf("devices of %s: %w", login, err)
	}
	var out []DeviceStatus
	for k, v := range props {
		id, ok := strings.CutPrefix(k, propDevice)
		if !ok {
			continue
		}
		var d DeviceStatus
		if err := json.Unmarshal([]byte(v), &d.Device); err != nil {
			continue // a damaged record: the device re-registers
		}
		d.ID, d.Login = id, login
		if w, ok := props[propWipe+id]; ok {
			d.Wipe = new(Wipe)
			if json.Unmarshal([]byte(w), d.Wipe) != nil {
				d.Wipe = &Wipe{State: WipeRequested}
			}
		}
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// LoadDevice returns a device of a store (nil if unknown), its wipe
// (nil if none) and its sync positions.
func LoadDevice(ctx context.Context, b DeviceProps, storeID int64, id string) (*Device, *Wipe, map[string]uint64, error) {
	props, err := b.StorePropsPrefix(ctx, storeID, "eas/")
	if err != nil {
		return nil, nil, nil, fmt.Errorf("device %s: %w", id, err)
	}
	var d *Device
	if v, ok := props[propDevice+id]; ok {
		d = new(Device)
		if json.Unmarshal([]byte(v), d) != nil {
			d = &Device{}
		}
		d.ID = id
	}
	var w *Wipe
	if v, ok := props[propWipe+id]; ok {
		w = new(Wipe)
		if json.Unmarshal([]byte(v), w) != nil {
			w = &Wipe{State: WipeRequested}
		}
	}
	synced := map[string]uint64{}
	if v, ok := props[propSync+id]; ok {
		json.Unmarshal([]byte(v), &synced)
	}
	if d == nil {
		n := 0
		for k := range props {
			if strings.HasPrefix(k, propDevice) {
				n++
			}
		}
		if n >= MaxDevices {
			return nil, w, synced, ErrDeviceLimit
		}
	}
	return d, w, synced, nil
}

// SaveDevice writes a device record.
func SaveDevice(ctx context.Context, b DeviceProps, storeID int64, d *Device) error {
	v, err := json.Marshal(d)
	if err != nil {
		return err
	}
	s := string(v)
	if err := b.SetStoreProps(ctx, storeID, map[string]*string{propDevice + d.ID: &s}); err != nil {
		return fmt.Errorf("save device %s: %w", d.ID, err)
	}
	return nil
}

// maxSyncPositions bounds the collections remembered per device.
const maxSyncPositions = 200

// SaveSyncPositions writes the journal positions a device's collections
// were synced to.
func SaveSyncPositions(ctx context.Context, b DeviceProps, storeID int64, id string, synced map[string]uint64) error {
	if len(synced) > maxSyncPositions {
		for k := range synced {
			if len(synced) <= maxSyncPositions {
				break
			}
			delete(synced, k)
		}
	}
	v, err := json.Marshal(synced)
	if err != nil {
		return err
	}
	s := string(v)
	if err := b.SetStoreProps(ctx, storeID, map[string]*string{propSync + id: &s}); err != nil {
		return fmt.Errorf("save sync state of %s: %w", id, err)
	}
	return nil
}

// SetWipe writes a device's wipe state (nil removes it).
func SetWipe(ctx context.Context, b DeviceProps, storeID int64, id string, w *Wipe) error {
	var p *string
	if w != nil {
		v, err := json.Marshal(w)
		if err != nil {
			return err
		}
		s := string(v)
		p = &s
	}
	if err := b.SetStoreProps(ctx, storeID, map[string]*string{propWipe + id: p}); err != nil {
		return fmt.Errorf("wipe of %s: %w", id, err)
	}
	return nil
}

// RequestWipe asks that a user's device be wiped at its next request
// (`roost admin device wipe`): the whole device, or with accountOnly
// only the account's data (devices of protocol 16.1; older ones get a
// full wipe request they may refuse). ErrNotFound for an unknown device.
func RequestWipe(ctx context.Context, b DeviceProps, login, id string, accountOnly bool, by string, now time.Time) (*Wipe, error) {
	st, err := b.UserStore(ctx, login)
	if err != nil {
		return nil, fmt.Errorf("store of %s: %w", login, err)
	}
	props, err := b.StorePropsPrefix(ctx, st.ID, propDevice+id)
	if err != nil {
		return nil, fmt.Errorf("device %s: %w", id, err)
	}
	if _, ok := props[propDevice+id]; !ok {
		return nil, fmt.Errorf("device %s of %s: %w", id, login, store.ErrNotFound)
	}
	w := &Wipe{State: WipeRequested, By: by, Requested: now.UTC()}
	if accountOnly {
		w.State = WipeAccount
	}
	return w, SetWipe(ctx, b, st.ID, id, w)
}

// RemoveDevice forgets a device (and a pending wipe): its next request
// starts over with Provision. ErrNotFound for an unknown device.
func RemoveDevice(ctx context.Context, b DeviceProps, login, id string) error {
	st, err := b.UserStore(ctx, login)
	if err != nil {
		return fmt.Errorf("store of %s: %w", login, err)
	}
	props, err := b.StorePropsPrefix(ctx, st.ID, propDevice+id)
	if err != nil {
		return fmt.Errorf("device %s: %w", id, err)
	}
	if _, ok := props[propDevice+id]; !ok {
		return fmt.Errorf("device %s of %s: %w", id, login, store.ErrNotFound)
	}
	return b.SetStoreProps(ctx, st.ID, map[string]*string{propDevice + id: nil, propWipe + id: nil, propSync + id: nil})
}
