# SMS through Twilio's Messages API (form-encoded, HTTP basic auth).
#   channel "sms" { type = webhook  format = twilio
#     url = "https://api.twilio.com/2010-04-01/Accounts/ACxxx/Messages.json"
#     vars = { "account_sid=ACxxx", "auth_token=…", "from=+15550001111" } }
# The number is the contact's phone, else $vars.to.  Limit: Body 1600
# characters (we keep to 600: about four SMS segments).
def cut($n): if length > $n then .[:$n - 1] + "…" else . end;
{content_type: "application/x-www-form-urlencoded",
 headers: {Authorization: ("Basic " + ("\($account_sid):\($auth_token)" | @base64))},
 body: ("To=" + (.recipient.phone // $vars.to // "" | @uri)
        + "&From=" + ($from | @uri)
        + "&Body=" + ([.text | cut(400)]
                      + [(.actions // {}) | to_entries[] | "\(.key): \(.value)"]
                      | join("\n") | cut(600) | @uri))}
