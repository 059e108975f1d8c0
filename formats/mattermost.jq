# Mattermost incoming webhook: text plus one attachment with fields.
#   channel "mm" { type = webhook  format = mattermost
#     url = "https://mattermost.example.com/hooks/KEY" }
# $vars.username (optional) names the poster.  Limit: a post is at most
# 16383 characters.
def cut($n): if length > $n then .[:$n - 1] + "…" else . end;
def color: {opened: "#E01E5A", escalated: "#E01E5A", acknowledged: "#ECB22E",
  resolved: "#2EB67D"}[.event | sub("^incident[.]"; "")] // "#439FE0";
{body: {
  username: ($vars.username // "tocsin"),
  text: (.text | cut(4000)),
  attachments: [{
    fallback: (.text | cut(4000)),
    color: color,
    title: (.incident.title // "" | cut(1000)),
    text: ([(.incident.checks // [])[:30][] | "- \(.name): \(.state) (\(.role))"]
           + [(.actions // {}) | to_entries[] | "[\(.key)](\(.value))"]
           | join("\n") | cut(8000)),
    fields: [
      {short: true, title: "Priority", value: (.incident.priority // "-")},
      {short: true, title: "Status", value: (.incident.status // "-")},
      {short: true, title: "Root cause", value: (.incident.root_cause // "-" | cut(500))}]
  }]
}}
