"""Client-facing panel texts in Finnish, Swedish and English (a small table, not gettext:
these pages are few, and the consent text must be exactly the versioned one)."""

from __future__ import annotations

T: dict[str, dict[str, str]] = {
    "invite": {
        "fi": "Haluaisitko auttaa kehittämään tätä palvelua asiakasraadissa?",
        "sv": "Vill du hjälpa till att utveckla tjänsten i en kundpanel?",
        "en": "Would you like to help improve this service in a client panel?",
    },
    "invite_hint": {
        "fi": "Vapaaehtoista. Vastauksesi on jo tallennettu, eikä tämä muuta sitä.",
        "sv": "Frivilligt. Ditt svar är redan sparat och detta ändrar det inte.",
        "en": "Optional. Your answer is already saved and this does not change it.",
    },
    "join": {"fi": "Kyllä, kerro lisää", "sv": "Ja, berätta mer", "en": "Yes, tell me more"},
    "scan": {
        "fi": "Lue koodi omalla puhelimellasi",
        "sv": "Skanna koden med din egen telefon",
        "en": "Scan the code with your own phone",
    },
    "title": {"fi": "Asiakasraati", "sv": "Kundpanel", "en": "Client panel"},
    "name": {
        "fi": "Etunimi tai lempinimi",
        "sv": "Förnamn eller smeknamn",
        "en": "First name or nickname",
    },
    "phone": {"fi": "Matkapuhelin", "sv": "Mobilnummer", "en": "Mobile phone"},
    "email": {"fi": "Sähköposti", "sv": "E-post", "en": "E-mail"},
    "contact_hint": {
        "fi": "Anna puhelinnumero tai sähköposti (tai molemmat).",
        "sv": "Ange telefonnummer eller e-post (eller båda).",
        "en": "Give a phone number or an e-mail address (or both).",
    },
    "language": {"fi": "Kieli", "sv": "Språk", "en": "Language"},
    "age_band": {"fi": "Ikäryhmä", "sv": "Åldersgrupp", "en": "Age group"},
    "municipality": {"fi": "Kotikunta", "sv": "Hemkommun", "en": "Municipality"},
    "optional": {"fi": "(vapaaehtoinen)", "sv": "(frivilligt)", "en": "(optional)"},
    "required": {"fi": "(pakollinen)", "sv": "(obligatoriskt)", "en": "(required)"},
    "share": {
        "fi": "Saa tallentaa, oliko kokemukseni myönteinen, neutraali vai kielteinen",
        "sv": "Ni får spara om min upplevelse var positiv, neutral eller negativ",
        "en": "You may record whether my experience was positive, neutral or negative",
    },
    "consent": {"fi": "Suostumus", "sv": "Samtycke", "en": "Consent"},
    "agree": {
        "fi": "Liityn – hyväksyn yllä olevan",
        "sv": "Gå med – jag samtycker",
        "en": "Join – I agree",
    },
    "decline": {"fi": "Ei kiitos", "sv": "Nej tack", "en": "No thanks"},
    "declined": {
        "fi": "Selvä, kiitos! Mitään ei tallennettu.",
        "sv": "Okej, tack! Ingenting sparades.",
        "en": "All right, thank you! Nothing was saved.",
    },
    "joined": {
        "fi": "Kiitos! Otamme yhteyttä, kun raati kokoontuu.",
        "sv": "Tack! Vi hör av oss när panelen samlas.",
        "en": "Thank you! We will contact you when a panel meets.",
    },
    "keep_link": {
        "fi": "Voit perua milloin tahansa tästä linkistä:",
        "sv": "Du kan återkalla när som helst via länken:",
        "en": "You can withdraw at any time with this link:",
    },
    "withdraw": {"fi": "Peru osallistuminen", "sv": "Återkalla", "en": "Withdraw"},
    "withdraw_q": {
        "fi": "Poistetaanko yhteystietosi asiakasraatien listalta?",
        "sv": "Ska dina kontaktuppgifter tas bort från kundpanelernas lista?",
        "en": "Remove your contact details from the client panel list?",
    },
    "withdrawn": {
        "fi": "Yhteystietosi on poistettu. Kiitos!",
        "sv": "Dina kontaktuppgifter har raderats. Tack!",
        "en": "Your contact details have been erased. Thank you!",
    },
    "invalid": {
        "fi": "Linkki ei ole voimassa.",
        "sv": "Länken gäller inte.",
        "en": "This link is not valid.",
    },
    "error": {
        "fi": "Tarkista nimi ja yhteystieto.",
        "sv": "Kontrollera namnet och kontaktuppgiften.",
        "en": "Please check the name and the contact details.",
    },
    "error_background": {
        "fi": "Täytä pakolliseksi merkityt kohdat.",
        "sv": "Fyll i fälten som är markerade obligatoriska.",
        "en": "Please fill in the fields marked required.",
    },
    "rsvp_q": {
        "fi": "Kutsu asiakasraatiin: {topic}. Tapaamiset: {dates}.",
        "sv": "Inbjudan till kundpanel: {topic}. Möten: {dates}.",
        "en": "Invitation to a client panel: {topic}. Meetings: {dates}.",
    },
    "reminder": {"fi": "Muistutus:", "sv": "Påminnelse:", "en": "Reminder:"},
    "accept": {"fi": "Osallistun", "sv": "Jag deltar", "en": "I will take part"},
    "decline_rsvp": {"fi": "En pääse", "sv": "Jag kan inte", "en": "I cannot come"},
    "accepted": {"fi": "Kiitos, nähdään!", "sv": "Tack, vi ses!", "en": "Thank you, see you!"},
    "rsvp_declined": {
        "fi": "Kiitos vastauksesta. Voimme kutsua sinut myöhemmin uudelleen.",
        "sv": "Tack för svaret. Vi kan bjuda in dig igen senare.",
        "en": "Thank you for answering. We may invite you again later.",
    },
}


def t(key: str, lang: str) -> str:
    texts = T[key]
    return texts.get(lang, texts["fi"])
