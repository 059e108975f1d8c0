# Microsoft Teams through a Workflows webhook ("Send webhook alerts to a
# channel"): an Adaptive Card 1.4 in a message attachment.
#   channel "teams" { type = webhook  format = teams
#                     url = "https://….powerautomate.com/…" }
# Teams takes messages up to about 28 KB: the title is cut at 400
# characters, at most 20 checks are listed, each line cut at 200.
def cut($n): if length > $n then .[:$n - 1] + "…" else . end;
def color: {opened: "attention", escalated: "attention",
  acknowledged: "warning", resolved: "good"}[.event | sub("^incident[.]"; "")]
  // "default";
{body: {
  type: "message",
  attachments: [{
    contentType: "application/vnd.microsoft.card.adaptive",
    contentUrl: null,
    content: {
      "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
      type: "AdaptiveCard",
      version: "1.4",
      body: ([
        {type: "TextBlock", text: (.text | cut(400)), weight: "Bolder",
         size: "Medium", wrap: true, color: color},
        {type: "FactSet", facts: [
          {title: "Priority", value: (.incident.priority // "")},
          {title: "Status", value: (.incident.status // "")},
          {title: "Root cause", value: (.incident.root_cause // "" | cut(200))},
          {title: "Opened", value: (.incident.opened_at // "")}]}]
        + [(.incident.checks // [])[:20][] |
           {type: "TextBlock", wrap: true, spacing: "None",
            text: ("\(.name) — \(.state) (\(.role))" | cut(200))}]),
      actions: [(.actions // {}) | to_entries[] |
        {type: "Action.OpenUrl", title: (.key | ascii_upcase[:1] + .[1:]),
         url: .value}]
    }
  }]
}}
