package repository

import (
	"errors"
	"reflect"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/schema"

	"github.com/fengdu-county/casework/domain"
	"github.com/fengdu-county/casework/internal/audit"
	"github.com/fengdu-county/casework/internal/sealed"
)

// Cipher seals sensitive fields and computes their blind indexes, and
// holds the audit keys the audit chain is hashed under.
type Cipher interface {
	Seal(plaintext, context string) (string, error)
	Open(value, context string) (string, error)
	Index(value, context string) string
	ActiveKeyID() string
	NeedsReseal(value string) bool
	audit.Keys
}

// Each sealed column has its own context, so a value copied to another
// column does not open. The ID-number index shares one context across
// tables, so a single index value finds a number as servicemember or member.
const (
	sealServicememberID = "households.servicemember_id_number"
	sealHouseholdPhone  = "households.phone"
	sealCertificate     = "households.preferential_certificate_number"
	sealMemberID        = "members.id_number"
	sealMemberPhone     = "members.phone"
	sealTransferReason  = "households.transfer_reason"
	indexIDNumber       = "id_number"
	// A person's name with their birth date, and with a phone, each one
	// context across tables, so a member matches a servicemember.
	indexNameBirth = "name_birth"
	indexNamePhone = "name_phone"
)

// SealHousehold seals h's ID, phone and certificate numbers and sets its blind index,
// exactly as the store does before writing: for tools that load rows in
// bulk (tools/bench) and must write what the server would.
func SealHousehold(c Cipher, h *Household) error { return h.seal(c) }

// SealMember is SealHousehold for a member.
func SealMember(c Cipher, m *Member) error { return m.seal(c) }

// sealable rows hold sensitive fields: plaintext in memory, sealed at rest.
type sealable interface {
	seal(Cipher) error
	open(Cipher) error
}

func (h *Household) seal(c Cipher) error {
	h.ServicememberIDIndex = c.Index(h.ServicememberIDNumber, indexIDNumber)
	h.NameBirthIndex, h.NamePhoneIndex = matchIndexes(c, h.MatchKeys())
	return sealAll(c, h.sealed()...)
}

// MatchKeys are the fuzzy-duplicate keys of the household's servicemember.
func (h *Household) MatchKeys() domain.MatchKeys {
	return domain.PersonKeys(h.ServicememberName, domain.BirthDateOfID(h.ServicememberIDNumber), h.Phone)
}

// MatchKeys are the fuzzy-duplicate keys of a member.
func (m *Member) MatchKeys() domain.MatchKeys {
	return domain.PersonKeys(m.DisplayName, m.BirthDate.Format(time.DateOnly), m.Phone)
}

// matchIndexes are the blind indexes of a person's keys ("" for a key
// that is empty: no phone).
func matchIndexes(c Cipher, k domain.MatchKeys) (nameBirth, namePhone string) {
	return c.Index(k.NameBirth, indexNameBirth), c.Index(k.NamePhone, indexNamePhone)
}

func (h *Household) open(c Cipher) error { return openAll(c, h.sealed()...) }

// sealed lists a household's sealed fields, each with its own context.
func (h *Household) sealed() []field {
	return []field{{&h.ServicememberIDNumber, sealServicememberID}, {&h.Phone, sealHouseholdPhone},
		{&h.PreferentialCertificateNumber, sealCertificate}, {&h.TransferReason, sealTransferReason}}
}

func (m *Member) seal(c Cipher) error {
	m.IDNumberIndex = c.Index(m.IDNumber, indexIDNumber)
	m.NameBirthIndex, m.NamePhoneIndex = matchIndexes(c, m.MatchKeys())
	return sealAll(c, field{&m.IDNumber, sealMemberID}, field{&m.Phone, sealMemberPhone})
}

func (m *Member) open(c Cipher) error {
	return openAll(c, field{&m.IDNumber, sealMemberID}, field{&m.Phone, sealMemberPhone})
}

type field struct {
	v       *string
	context string
}

func sealAll(c Cipher, fs ...field) error {
	for _, f := range fs {
		s, err := c.Seal(*f.v, f.context)
		if err != nil {
			return err
		}
		*f.v = s
	}
	return nil
}

// openAll opens sealed values in place. A value that was never sealed (a row
// written before encryption, not yet resealed) is already plaintext.
func openAll(c Cipher, fs ...field) error {
	for _, f := range fs {
		s, err := c.Open(*f.v, f.context)
		if errors.Is(err, sealed.ErrNotSealed) {
			continue
		}
		if err != nil {
			return err
		}
		*f.v = s
	}
	return nil
}

func (s *Store) openRows(rows any) error {
	v := reflect.ValueOf(rows)
	for i := 0; i < v.Len(); i++ {
		if r, ok := v.Index(i).Addr().Interface().(sealable); ok {
			if err := r.open(s.cipher); err != nil {
				return err
			}
		}
	}
	return nil
}

func (s *Store) openRow(row any) error {
	if r, ok := row.(sealable); ok {
		return r.open(s.cipher)
	}
	return nil
}

func (s *Store) sealRow(row any) error {
	if r, ok := row.(sealable); ok {
		return r.seal(s.cipher)
	}
	return nil
}

// bookkeeping fields change on every write and say nothing about what the
// caller changed.
var bookkeeping = map[string]bool{
	"Revision": true, "UpdateTime": true, "ServicememberIDIndex": true, "IDNumberIndex": true, "MemberCount": true,
	"NameBirthIndex": true, "NamePhoneIndex": true,
}

// ChangedFields is what an update compares: the columns a read-modify-write
// that turned before into after would write, none when it would write
// nothing. A caller that can tell from a row it has read that its change
// would write nothing (an import of an unchanged file) skips the locked
// update with it, and never judges "changed" another way.
func ChangedFields[T Household | Member](before, after *T) []string {
	return changedFields(before, after)
}

// changedFields names the columns whose values differ between two rows of
// the same type, for history and the audit log: names only, never values.
func changedFields(before, after any) []string {
	b, a := reflect.ValueOf(before).Elem(), reflect.ValueOf(after).Elem()
	var out []string
	naming := schema.NamingStrategy{}
	for i := 0; i < b.NumField(); i++ {
		name := b.Type().Field(i).Name
		if bookkeeping[name] {
			continue
		}
		if !reflect.DeepEqual(b.Field(i).Interface(), a.Field(i).Interface()) {
			out = append(out, naming.ColumnName("", name))
		}
	}
	return out
}

// The ledgers' free text: what families raise, follow-ups, notes and
// complaints hold medical, family and legal detail (migration 00015).
const (
	sealContactRaised    = "contacts.raised"
	sealContactFollowUps = "contacts.follow_ups"
	sealAssistanceNote   = "assistance.note"
	sealVisitNotes       = "campaign_visits.notes"
)

func (c *Contact) seal(ci Cipher) error {
	v, err := c.FollowUps.Value()
	if err != nil {
		return err
	}
	c.FollowUpsSealed, _ = v.(string)
	return sealAll(ci, field{&c.Raised, sealContactRaised}, field{&c.FollowUpsSealed, sealContactFollowUps})
}

// open opens the sealed columns and reads the follow-ups back into
// FollowUps, leaving FollowUpsSealed empty: a read-modify-write compares
// the plaintext, not the ciphertext, which changes with every seal.
func (c *Contact) open(ci Cipher) error {
	if err := openAll(ci, field{&c.Raised, sealContactRaised}, field{&c.FollowUpsSealed, sealContactFollowUps}); err != nil {
		return err
	}
	if err := c.FollowUps.Scan(c.FollowUpsSealed); err != nil {
		return err
	}
	c.FollowUpsSealed = ""
	return nil
}

func (a *Assistance) seal(c Cipher) error {
	return sealAll(c, field{&a.Note, sealAssistanceNote})
}

func (a *Assistance) open(c Cipher) error {
	return openAll(c, field{&a.Note, sealAssistanceNote})
}

func (v *CampaignVisit) seal(c Cipher) error {
	return sealAll(c, field{&v.Notes, sealVisitNotes})
}

func (v *CampaignVisit) open(c Cipher) error {
	return openAll(c, field{&v.Notes, sealVisitNotes})
}

// createSealed inserts a row whose fields are sealed at rest and leaves the
// caller's row in plaintext, as it was given.
func (s *Store) createSealed(tx *gorm.DB, row sealable) error {
	if err := row.seal(s.cipher); err != nil {
		return err
	}
	err := tx.Create(row).Error
	if openErr := row.open(s.cipher); err == nil {
		err = openErr
	}
	return err
}
