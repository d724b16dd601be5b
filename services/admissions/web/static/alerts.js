// Live alerts for the hospitalist page: Server-Sent Events from /hospitalist/stream (same origin,
// session cookie). Each new alert becomes the first row of the table; text only (textContent),
// never HTML from the stream.
(function () {
  "use strict";
  var table = document.getElementById("alerts");
  var live = document.getElementById("live");
  var empty = document.getElementById("no-alerts");
  var csrf = table ? table.getAttribute("data-csrf") : "";
  var kinds = {inpatient_admit: "Admitted", ed_visit: "ED visit"};
  if (!table || !window.EventSource) { return; }

  function cell(row, text) {
    var td = document.createElement("td");
    td.textContent = text == null ? "" : String(text);
    row.appendChild(td);
    return td;
  }

  function place(a) {
    var loc = a.location || {};
    return [a.facility, loc.point_of_care, loc.room, loc.bed].filter(Boolean).join(" ");
  }

  function addAlert(a) {
    if (document.getElementById("alert-" + a.alert_id)) { return; }
    var body = table.tBodies[0];
    var row = document.createElement("tr");
    row.id = "alert-" + a.alert_id;
    row.className = "is-new" + (a.readmission ? " is-readmission" : "");
    cell(row, new Date(a.event_time).toISOString().slice(0, 16).replace("T", " ") + " UTC");
    var who = document.createElement("td");
    var link = document.createElement("a");
    link.href = "/hospitalist/members/" + encodeURIComponent(a.member_id);
    link.textContent = a.member_id;
    who.appendChild(link);
    row.appendChild(who);
    cell(row, (kinds[a.kind] || a.kind) + (a.readmission ? " (readmission)" : ""));
    cell(row, place(a));
    var att = a.attending || {};
    cell(row, [att.given_name, att.family_name].filter(Boolean).join(" "));
    cell(row, (a.diagnoses || []).map(function (d) { return d.code + (d.description ? " " + d.description : ""); }).join("; "));
    cell(row, "admits 30d: " + a.admits_30d + ", ED 30d: " + a.ed_visits_30d);
    var act = document.createElement("td");
    var form = document.createElement("form");
    form.method = "post";
    form.action = "/hospitalist/alerts/" + encodeURIComponent(a.alert_id) + "/acknowledge";
    var token = document.createElement("input");
    token.type = "hidden"; token.name = "csrf_token"; token.value = csrf;
    var button = document.createElement("button");
    button.type = "submit"; button.textContent = "Acknowledge";
    form.appendChild(token); form.appendChild(button); act.appendChild(form); row.appendChild(act);
    body.insertBefore(row, body.firstChild);
    table.hidden = false;
    if (empty) { empty.hidden = true; }
    var count = document.getElementById("alert-count");
    if (count) { count.textContent = String(body.rows.length); }
  }

  var source = new EventSource("/hospitalist/stream");
  source.addEventListener("open", function () { live.textContent = "Live"; live.className = "live on"; });
  source.addEventListener("error", function () { live.textContent = "Reconnecting…"; live.className = "live off"; });
  source.addEventListener("alert.raised", function (e) { addAlert(JSON.parse(e.data)); });
  source.addEventListener("overflow", function () { window.location.reload(); });
}());
