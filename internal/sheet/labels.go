// Package sheet is the household spreadsheet format: the Chinese labels of
// every enumerated column (one table, read by the template and by the
// import that reads it back), the columns of each sheet and the template
// workbook itself.
package sheet

import (
	"google.golang.org/protobuf/reflect/protoreflect"

	pb "github.com/fengdu-county/casework/api/casework/v1"
)

// Entry is one enum value and the label people read and pick.
type Entry struct {
	Value protoreflect.EnumNumber
	Label string
}

// Labels maps the values of one proto enum to Chinese labels and back.
// The UNSPECIFIED value has no label: an empty cell stands for it.
type Labels struct {
	Enum    protoreflect.EnumDescriptor
	entries []Entry
}

func labels(d protoreflect.EnumDescriptor, entries ...Entry) *Labels {
	return &Labels{Enum: d, entries: entries}
}

// Entries lists the values with their labels, in the enum's order.
func (l *Labels) Entries() []Entry { return append([]Entry(nil), l.entries...) }

// List lists the labels in the enum's order (the drop-down list).
func (l *Labels) List() []string {
	out := make([]string, len(l.entries))
	for i, e := range l.entries {
		out[i] = e.Label
	}
	return out
}

// Label is the label of v ("", false for UNSPECIFIED or an unknown value).
func (l *Labels) Label(v protoreflect.EnumNumber) (string, bool) {
	for _, e := range l.entries {
		if e.Value == v {
			return e.Label, true
		}
	}
	return "", false
}

// Value is the enum value a label stands for.
func (l *Labels) Value(label string) (protoreflect.EnumNumber, bool) {
	for _, e := range l.entries {
		if e.Label == label {
			return e.Value, true
		}
	}
	return 0, false
}

func n[E interface {
	Number() protoreflect.EnumNumber
}](e E, label string) Entry {
	return Entry{Value: e.Number(), Label: label}
}

// The label tables: the only place the spreadsheet's Chinese labels are
// written down.
var (
	ServiceBranch = labels(pb.ServiceBranch(0).Descriptor(),
		n(pb.ServiceBranch_SERVICE_BRANCH_ARMY, "陆军"),
		n(pb.ServiceBranch_SERVICE_BRANCH_NAVY, "海军"),
		n(pb.ServiceBranch_SERVICE_BRANCH_AIR_FORCE, "空军"),
		n(pb.ServiceBranch_SERVICE_BRANCH_ROCKET_FORCE, "火箭军"),
		n(pb.ServiceBranch_SERVICE_BRANCH_STRATEGIC_SUPPORT, "战略支援部队"),
		n(pb.ServiceBranch_SERVICE_BRANCH_ARMED_POLICE, "武警部队"),
		n(pb.ServiceBranch_SERVICE_BRANCH_OTHER, "其他"),
	)
	RankCategory = labels(pb.RankCategory(0).Descriptor(),
		n(pb.RankCategory_RANK_CATEGORY_OFFICER, "军官"),
		n(pb.RankCategory_RANK_CATEGORY_NCO, "军士"),
		n(pb.RankCategory_RANK_CATEGORY_CONSCRIPT, "义务兵"),
		n(pb.RankCategory_RANK_CATEGORY_CIVILIAN, "文职人员"),
	)
	PostType = labels(pb.PostType(0).Descriptor(),
		n(pb.PostType_POST_TYPE_BORDER_COASTAL_DEFENCE, "边海防"),
		n(pb.PostType_POST_TYPE_MISSION_UNIT, "执行任务部队"),
		n(pb.PostType_POST_TYPE_HARDSHIP_AREA, "艰苦边远地区"),
		n(pb.PostType_POST_TYPE_REGULAR, "一般岗位"),
		n(pb.PostType_POST_TYPE_ISLAND_SPECIAL, "特类海岛"),
		n(pb.PostType_POST_TYPE_ISLAND_FIRST, "一类海岛"),
		n(pb.PostType_POST_TYPE_ISLAND_SECOND, "二类海岛"),
		n(pb.PostType_POST_TYPE_FLYING, "飞行"),
		n(pb.PostType_POST_TYPE_SURFACE_SHIP, "水面舰艇"),
		n(pb.PostType_POST_TYPE_SUBMARINE, "潜艇"),
		n(pb.PostType_POST_TYPE_SPECIAL_OPERATIONS, "特种作战"),
		n(pb.PostType_POST_TYPE_FRONT_LINE_COMBAT, "一线作战"),
		n(pb.PostType_POST_TYPE_PEACEKEEPING, "维和"),
	)
	ServicememberStatus = labels(pb.ServicememberStatus(0).Descriptor(),
		n(pb.ServicememberStatus_SERVICEMEMBER_STATUS_ACTIVE_OFFICER, "现役军官"),
		n(pb.ServicememberStatus_SERVICEMEMBER_STATUS_ACTIVE_NCO, "现役军士"),
		n(pb.ServicememberStatus_SERVICEMEMBER_STATUS_ACTIVE_CONSCRIPT, "现役义务兵"),
		n(pb.ServicememberStatus_SERVICEMEMBER_STATUS_VETERAN, "退役"),
		n(pb.ServicememberStatus_SERVICEMEMBER_STATUS_MARTYR, "烈士"),
		n(pb.ServicememberStatus_SERVICEMEMBER_STATUS_DIED_ON_DUTY, "因公牺牲"),
		n(pb.ServicememberStatus_SERVICEMEMBER_STATUS_DIED_OF_ILLNESS, "病故"),
	)
	HouseholdCategory = labels(pb.HouseholdCategory(0).Descriptor(),
		n(pb.HouseholdCategory_HOUSEHOLD_CATEGORY_ACTIVE_DUTY_FAMILY, "现役军人家庭"),
		n(pb.HouseholdCategory_HOUSEHOLD_CATEGORY_VETERAN, "退役军人"),
		n(pb.HouseholdCategory_HOUSEHOLD_CATEGORY_MARTYR_FAMILY, "烈士遗属"),
		n(pb.HouseholdCategory_HOUSEHOLD_CATEGORY_MERITORIOUS, "立功受奖军人家庭"),
		n(pb.HouseholdCategory_HOUSEHOLD_CATEGORY_OTHER_ENTITLED, "其他优抚对象"),
	)
	Relation = labels(pb.Relation(0).Descriptor(),
		n(pb.Relation_RELATION_SPOUSE, "配偶"),
		n(pb.Relation_RELATION_CHILD, "子女"),
		n(pb.Relation_RELATION_FATHER, "父亲"),
		n(pb.Relation_RELATION_MOTHER, "母亲"),
		n(pb.Relation_RELATION_OTHER, "其他"),
		n(pb.Relation_RELATION_CARER, "照料人"),
		n(pb.Relation_RELATION_DEPENDENT_SIBLING, "受抚养兄弟姐妹"),
	)
)

// AllLabels lists every label table.
func AllLabels() []*Labels {
	return []*Labels{ServiceBranch, RankCategory, PostType, ServicememberStatus, HouseholdCategory, Relation}
}

// Yes and No are the labels of a boolean column (an empty cell is No).
const (
	Yes = "是"
	No  = "否"
)
