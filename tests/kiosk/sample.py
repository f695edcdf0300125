"""A realistic kiosk configuration shared by the kiosk tests."""

from __future__ import annotations

from kiosk.pages import KioskConfig, ServiceChoice

SERVICES = (
    ServiceChoice(
        path="toimeentulotuki",
        step="ensitapaaminen",
        names={
            "fi": "Toimeentulotuki – ensitapaaminen",
            "sv": "Utkomststöd – första mötet",
            "en": "Social assistance – first meeting",
        },
        icon="money",
        scale="fft",
        reasons=("waiting_time", "being_heard", "clear_information", "getting_help"),
        comments=True,
    ),
    ServiceChoice(
        path="lastensuojelu",
        step=None,
        names={"fi": "Lastensuojelu", "sv": "Barnskydd", "en": "Child welfare"},
        icon="family",
        scale="nps",
        reasons=("staff_attitude", "being_heard"),
        comments=False,
    ),
    ServiceChoice(
        path="vammaispalvelut",
        step="arviointi",
        names={
            "fi": "Vammaispalvelut – arviointi",
            "sv": "Handikappservice",
            "en": "Disability services",
        },
        icon="accessibility",
        scale="fft",
        reasons=(),
        comments=False,
    ),
)

CONFIG = KioskConfig(
    kiosk="vaasa-aikuis-1",
    organisation={
        "fi": "Vaasan aikuissosiaalityö",
        "sv": "Vasa vuxensocialarbete",
        "en": "Vaasa adult social work",
    },
    services=SERVICES,
)
SINGLE = KioskConfig(kiosk="single", organisation={"fi": "Testi"}, services=SERVICES[:1])
