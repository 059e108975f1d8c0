# Opsgenie Alert API v2: create on opened/escalated (alias = the incident
# id, so a repeat is the same alert), a note on updated, acknowledge,
# unacknowledge and close by alias.
#   channel "opsgenie" { type = webhook  format = opsgenie
#     url = "https://api.opsgenie.com/v2/alerts"   (EU: api.eu.opsgenie.com)
#     headers = { "Authorization: GenieKey KEY" } }
# $vars.alias_prefix (optional) goes before the id when several tocsind
# share one Opsgenie account.  Limits: message 130 characters, alias 512,
# description 15000, note 25000, details values 8000.
def cut($n): if length > $n then .[:$n - 1] + "…" else . end;
def verb: .event | sub("^incident[.]"; "");
(($vars.alias_prefix // "") + (.incident.id | tostring)) as $alias
| ("?identifierType=alias") as $q
| if verb == "acknowledged" then
    {path: ("/" + ($alias | @uri) + "/acknowledge" + $q),
     body: {source: "tocsin", user: (.incident.acknowledged_by // "tocsin"),
            note: (.text | cut(25000))}}
  elif verb == "unacknowledged" then
    {path: ("/" + ($alias | @uri) + "/unacknowledge" + $q),
     body: {source: "tocsin", user: "tocsin", note: (.text | cut(25000))}}
  elif verb == "resolved" then
    {path: ("/" + ($alias | @uri) + "/close" + $q),
     body: {source: "tocsin", user: "tocsin", note: (.text | cut(25000))}}
  elif verb == "updated" then
    {path: ("/" + ($alias | @uri) + "/notes" + $q),
     body: {source: "tocsin", user: "tocsin",
            note: ([.text] + [(.incident.checks // [])[] | "\(.name): \(.state)"]
                   | join("\n") | cut(25000))}}
  else
    {body: ({
      message: (.incident.title // .text | cut(130)),
      alias: $alias,
      description: ([.text, ""] + [(.incident.checks // [])[] |
                     "\(.name): \(.state) (\(.role))"]
                    + [(.actions // {}) | to_entries[] | "\(.key): \(.value)"]
                    | join("\n") | cut(15000)),
      priority: (if (.incident.priority // "") | test("^P[1-5]$")
                 then .incident.priority else "P3" end),
      source: "tocsin",
      entity: (.incident.root_cause // "" | cut(512)),
      tags: (["tocsin"] + (if .incident.group then [.incident.group | cut(50)]
                           else [] end)),
      details: ({incident: (.incident.id | tostring),
                 status: (.incident.status // ""),
                 opened_at: (.incident.opened_at // "")}
                + ((.actions // {}) | with_entries(.value |= cut(8000))))
    })}
  end
