"""Seeded generator of realistic X API v2 *search/recent* response pages.

Used by the offline demo (``source: demo``), by the benchmarks (hundreds of thousands of
tweets, streamed in constant memory) and by the fake X API (a pool of tweets).

The output has the shape of twarc2 page JSONL: ``data``, ``includes`` (users, tweets,
media, places), ``meta`` and ``__twarc``. About 55% of tweets are retweets (truncated
``RT @user: …`` text; the full original and its author in ``includes``), 10% quotes, 15%
replies, the rest originals. Hashtags, mentions, domains, authors and retweeted originals
follow Zipf laws so the "top" lists are meaningful.

Determinism: only ``random.Random`` and arithmetic, no wall clock, no ``hash()``. Same
seed and arguments give the same bytes. Page size does not change the tweets, only how
they are grouped.

Why it is fast and small: tweets are made one at a time, newest first, and nothing
accumulates. Users, retweeted originals, links and re-shared pictures are *derived* from
(seed, rank) alone (an integer hash, or a private ``Random`` reseeded for that rank), so
the popular ranks are kept in bounded caches and the long tail is rebuilt on demand,
identically, without a table. ``write_archive`` also splices the cached objects into each
page already serialized (``orjson.Fragment``) and gzips on a second thread.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import gzip
import hashlib
import math
import os
import queue
import re
import sys
import tempfile
import threading
import time
from bisect import bisect_right
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from random import Random
from statistics import NormalDist
from typing import Any, BinaryIO
from urllib.parse import urlencode

import orjson

from dnflow import __version__

__all__ = ["TOPICS", "iter_pages", "iter_tweet_pool", "main", "write_archive"]

DEFAULT_START = "2026-11-01T00:00:00Z"
TWITTER_EPOCH_MS = 1288834974657  # snowflake ids count milliseconds from here
_LOW_BITS = 22  # worker + sequence bits below the timestamp in a snowflake id
_LOW_MASK = (1 << _LOW_BITS) - 1
_HOUR_MS = 3_600_000
_DAY_MS = 86_400_000
_POOL_LOOKBACK_MS = 3 * _DAY_MS  # retweeted/quoted originals were posted up to 3 days earlier
_GZIP_LEVEL = 3  # zlib 3 compresses ~2x faster than 6 for ~13% more bytes

# Shares of each kind of tweet in the stream (the rest are originals).
P_RETWEET = 0.55
P_QUOTE = 0.10
P_REPLY = 0.15

# Bounded memo sizes; ranks past these are rebuilt when drawn (Zipf keeps that rare).
_USER_CACHE = 4096
_POOL_CACHE = 2048

# ------------------------------------------------------------------ vocabularies

LANGS = ("en", "es", "fr", "de", "pt", "ja", "ar", "ko", "und")

_FIRST: dict[str, Any] = {
    "en": "James Mary Olivia Liam Emma Noah Ava Sophia Jack Chloe Ethan Grace Ryan Zoe Sam Maya",
    "es": "María José Lucía Carlos Sofía Diego Valentina Mateo Camila Javier Ximena Andrés",
    "fr": "Camille Louis Léa Hugo Chloé Lucas Manon Jules Inès Théo Margaux Baptiste",
    "de": "Lukas Anna Leon Mia Felix Lena Jonas Hannah Paul Marie Jannik Sophie",
    "pt": "João Ana Pedro Beatriz Gabriel Juliana Lucas Mariana Rafael Larissa Thiago Bruna",
    "ja": "ゆうき さくら 陽菜 蓮 美咲 翔太 あおい 大輝 ひなた みゆ",
    "ar": "محمد فاطمة أحمد مريم علي نور عمر سارة خالد ليلى",
    "ko": "민준 서연 지호 하은 도윤 수아 예준 지민 서준 유나",
}
_LAST: dict[str, Any] = {
    "en": "Smith Johnson Brown Taylor Miller Davis Wilson Clarke Walker Hughes Patel Nguyen Khan",
    "es": "García Rodríguez López Martínez Sánchez Pérez Gómez Díaz Ríos Torres Herrera",
    "fr": "Martin Bernard Dubois Durand Lefebvre Moreau Laurent Girard Roux Fournier",
    "de": "Müller Schmidt Schneider Fischer Weber Wagner Becker Hoffmann Koch Richter",
    "pt": "Silva Santos Oliveira Souza Costa Ferreira Almeida Carvalho Lima Ribeiro",
    "ja": "佐藤 鈴木 高橋 田中 伊藤 渡辺 山本 中村",
    "ar": "العلي الحسن الأحمد السيد الخطيب المصري",
    "ko": "김 이 박 최 정 강 조 윤",
}
_FIRST = {k: v.split() for k, v in _FIRST.items()}
_LAST = {k: v.split() for k, v in _LAST.items()}

_HANDLE_A = [
    "ana", "leo", "maya", "sun", "moon", "star", "kim", "lee", "park", "mar", "sol", "nina",
    "max", "yuki", "hana", "omar", "lina", "jo", "dani", "alex", "sam", "kai", "rio", "luz",
    "mika", "tae", "jin", "noor", "lea", "hugo", "ivy", "eli",
]
_HANDLE_B = [  # "_" means no second part
    "fan", "news", "daily", "life", "xo", "art", "min", "love", "vibes", "world", "lab",
    "info", "real", "says", "here", "_", "_", "_", "_", "official", "stan", "tweets", "lover",
]

_SOURCES = (
    ("Twitter for iPhone", 40), ("Twitter for Android", 30), ("Twitter Web App", 20),
    ("TweetDeck Web App", 3), ("Hootsuite Inc.", 2), ("Buffer", 2), ("IFTTT", 1),
    ("dlvr.it", 1), ("Twitter for iPad", 1),
)

_REPLY_PHRASES = {
    "en": ["Totally agree.", "Source?", "This!!", "Thank you for sharing this.", "Wow.",
           "Not surprised at all.", "We need more of this.", "Can't believe this.",
           "Exactly what I was thinking", "lol"],
    "es": ["Totalmente de acuerdo.", "¿Fuente?", "¡Esto!", "Gracias por compartir.",
           "Increíble.", "Jajaja"],
    "fr": ["Tout à fait d'accord.", "Source ?", "Merci pour le partage.", "Incroyable.",
           "Exactement."],
    "de": ["Absolut richtig.", "Quelle?", "Danke fürs Teilen.", "Unglaublich.", "Genau das."],
    "pt": ["Concordo totalmente.", "Fonte?", "Obrigado por compartilhar.", "Incrível.", "Kkkkk"],
    "ja": ["本当にそれ。", "ソースは？", "共有ありがとうございます。", "すごい。", "わかる"],
    "ar": ["أتفق تماماً.", "المصدر؟", "شكراً للمشاركة.", "لا يصدق"],
    "ko": ["완전 동의해요.", "출처가 어디예요?", "공유 감사합니다.", "대박.", "ㅋㅋㅋㅋ"],
}

_PLACES = (
    # name, full_name, country, country_code, lon, lat, lang
    ("New York", "Manhattan, NY", "United States", "US", -73.97, 40.78, "en"),
    ("Los Angeles", "Los Angeles, CA", "United States", "US", -118.41, 34.02, "en"),
    ("Chicago", "Chicago, IL", "United States", "US", -87.68, 41.84, "en"),
    ("London", "London, England", "United Kingdom", "GB", -0.12, 51.50, "en"),
    ("Manchester", "Manchester, England", "United Kingdom", "GB", -2.24, 53.48, "en"),
    ("Sydney", "Sydney, New South Wales", "Australia", "AU", 151.21, -33.87, "en"),
    ("Toronto", "Toronto, Ontario", "Canada", "CA", -79.38, 43.65, "en"),
    ("Madrid", "Madrid, España", "España", "ES", -3.70, 40.42, "es"),
    ("Barcelona", "Barcelona, España", "España", "ES", 2.17, 41.39, "es"),
    ("Ciudad de México", "Ciudad de México, México", "México", "MX", -99.13, 19.43, "es"),
    ("Buenos Aires", "Buenos Aires, Argentina", "Argentina", "AR", -58.38, -34.60, "es"),
    ("Bogotá", "Bogotá, D.C., Colombia", "Colombia", "CO", -74.07, 4.71, "es"),
    ("Paris", "Paris, France", "France", "FR", 2.35, 48.86, "fr"),
    ("Lyon", "Lyon, France", "France", "FR", 4.84, 45.76, "fr"),
    ("Berlin", "Berlin, Deutschland", "Deutschland", "DE", 13.40, 52.52, "de"),
    ("München", "München, Bayern", "Deutschland", "DE", 11.58, 48.14, "de"),
    ("São Paulo", "São Paulo, Brasil", "Brasil", "BR", -46.63, -23.55, "pt"),
    ("Rio de Janeiro", "Rio de Janeiro, Brasil", "Brasil", "BR", -43.20, -22.91, "pt"),
    ("Lisboa", "Lisboa, Portugal", "Portugal", "PT", -9.14, 38.72, "pt"),
    ("Shinjuku-ku", "Shinjuku-ku, Tokyo", "Japan", "JP", 139.70, 35.69, "ja"),
    ("Osaka-shi", "Osaka-shi, Osaka", "Japan", "JP", 135.50, 34.69, "ja"),
    ("Seoul", "Seoul, Republic of Korea", "Republic of Korea", "KR", 126.98, 37.57, "ko"),
    ("Busan", "Busan, Republic of Korea", "Republic of Korea", "KR", 129.08, 35.18, "ko"),
    ("Cairo", "Cairo, Egypt", "Egypt", "EG", 31.24, 30.04, "ar"),
    ("Riyadh", "Riyadh, Kingdom of Saudi Arabia", "Kingdom of Saudi Arabia", "SA",
     46.72, 24.71, "ar"),
    ("Dubai", "Dubai, United Arab Emirates", "United Arab Emirates", "AE", 55.27, 25.20, "ar"),
)


class _Topic:
    """One topic's vocabularies. Lists are in popularity order (rank 1 first)."""

    def __init__(self, **kw: Any) -> None:
        self.hashtags: list[str] = kw["hashtags"].split()
        self.hashtags_low = [h.lower() for h in self.hashtags]
        self.lang_tags: dict[str, list[str]] = {k: v.split() for k, v in kw["lang_tags"].items()}
        self.langs: list[tuple[str, float]] = kw["langs"]
        self.phrases: dict[str, list[str]] = kw["phrases"]
        self.emoji: list[str] = kw["emoji"].split()
        self.domains: list[str] = kw["domains"].split()
        self.sections: list[str] = kw["sections"].split()
        self.words: list[str] = kw["words"].split()
        self.accounts: list[tuple[str, str]] = kw["accounts"]
        self.bios: list[str] = kw["bios"]
        self.alt: list[str] = kw["alt"]
        self.media_share: float = kw.get("media_share", 1.0)
        self.url_share: float = kw.get("url_share", 1.0)


_SHORTENERS = frozenset({"bit.ly", "buff.ly", "ow.ly", "trib.al", "dlvr.it", "youtu.be"})

TOPIC_DATA: dict[str, _Topic] = {
    "climate": _Topic(
        hashtags=(
            "ClimateAction ClimateCrisis ClimateStrike COP31 climate ClimateChange "
            "FridaysForFuture climatestrike NetZero ClimateJustice Renewables climatechange "
            "GlobalWarming ActOnClimate climateaction Sustainability EnergyTransition "
            "ClimateEmergency CLIMATESTRIKE Heatwave SolarPower KeepItInTheGround Biodiversity "
            "FossilFuels CleanEnergy Wildfires fridaysforfuture Flooding ClimateFinance "
            "LossAndDamage PhaseOutFossilFuels EV WindPower Deforestation Methane SeaLevelRise "
            "climatecrisis GreenNewDeal CarbonTax Drought ExtinctionRebellion ParisAgreement "
            "ecoanxiety ClimateScience Degrowth ZeroWaste PlantBased Cop31 ClimateStrike2026 "
            "HeatPumps"
        ),
        lang_tags={
            "es": "CambioClimático CrisisClimática JusticiaClimática",
            "fr": "climat UrgenceClimatique GrèvePourLeClimat",
            "de": "Klimaschutz Klimakrise Klimastreik",
            "pt": "MudançasClimáticas CriseClimática Amazônia",
            "ja": "気候変動 地球温暖化 脱炭素",
            "ar": "تغير_المناخ المناخ",
            "ko": "기후위기 기후변화 탄소중립",
        },
        langs=[("en", 55), ("es", 12), ("fr", 8), ("de", 8), ("pt", 6), ("ja", 3),
               ("ar", 2), ("ko", 1), ("und", 5)],
        phrases={
            "en": [
                "Record heat again this week and we are still arguing about whether it is real.",
                "The new emissions report is out and the numbers are worse than expected.",
                "Thousands marched today demanding real climate action from world leaders.",
                "Solar and wind were cheaper than gas again this quarter.",
                "Negotiators at COP31 still can't agree on a phase-out of fossil fuels.",
                "Floods, fires, drought: this is what 1.5°C looks like.",
                "Our city just approved a plan to go net zero by 2040!",
                "If you only read one thing about the climate talks today, read this.",
                "Climate finance pledges keep missing the target. Who pays for loss and damage?",
                "Students walked out of class again this Friday. They are not going away.",
            ],
            "es": [
                "Otra ola de calor récord y seguimos sin un plan serio.",
                "Miles de jóvenes marcharon hoy por la justicia climática.",
                "El nuevo informe sobre emisiones confirma lo peor.",
                "La transición energética tiene que ser justa o no será.",
                "¿Qué se decidió hoy en la COP31? Aquí un resumen.",
                "Las sequías ya afectan a millones de personas en la región.",
            ],
            "fr": [
                "Encore un record de chaleur cette semaine.",
                "Des milliers de personnes dans la rue pour le climat aujourd'hui.",
                "Le nouveau rapport sur les émissions est alarmant.",
                "La COP31 avance lentement, trop lentement.",
                "Sortir des énergies fossiles, c'est maintenant.",
                "Sécheresse, incendies, inondations : l'urgence climatique est là.",
            ],
            "de": [
                "Wieder ein Hitzerekord und die Politik schaut zu.",
                "Tausende beim Klimastreik heute in Berlin.",
                "Der neue Emissionsbericht ist ernüchternd.",
                "Erneuerbare Energien waren wieder günstiger als Gas.",
                "Was heute auf der COP31 passiert ist, kurz erklärt.",
                "Klimaschutz ist Menschenschutz.",
            ],
            "pt": [
                "Mais um recorde de calor e nada muda.",
                "Milhares nas ruas hoje pelo clima!",
                "O novo relatório de emissões é assustador.",
                "A Amazônia não aguenta mais desmatamento.",
                "Resumo do dia na COP31.",
                "Transição energética justa já.",
            ],
            "ja": [
                "今週もまた記録的な暑さ。",
                "気候変動対策を求めて数千人がデモ行進。",
                "新しい排出量レポートが公開されました。",
                "再生可能エネルギーがさらに安くなっている。",
                "COP31の今日のまとめ。",
            ],
            "ar": [
                "موجة حر قياسية جديدة هذا الأسبوع.",
                "الآلاف يتظاهرون من أجل العدالة المناخية.",
                "تقرير جديد عن الانبعاثات يدق ناقوس الخطر.",
                "ماذا حدث اليوم في مؤتمر المناخ؟",
            ],
            "ko": [
                "이번 주에도 기록적인 폭염이 이어졌다.",
                "기후위기 대응을 촉구하는 행진에 수천 명이 참여했다.",
                "새 배출량 보고서가 공개됐다.",
                "재생에너지가 또 가스보다 저렴해졌다.",
            ],
        },
        emoji="🌍 🌎 🌏 🔥 🌱 🌊 ☀️ 💨 ⚡ 🌡️ ♻️ 🐝 ✊ 📢",
        domains=(
            "theguardian.com carbonbrief.org bbc.co.uk reuters.com insideclimatenews.org "
            "youtube.com nytimes.com bit.ly apnews.com grist.org unfccc.int nature.com "
            "ipcc.ch instagram.com climate.gov lemonde.fr elpais.com spiegel.de buff.ly "
            "tiktok.com wri.org nasa.gov ow.ly theconversation.com dw.com"
        ),
        sections="environment climate science news world energy live",
        words=(
            "heatwave emissions report strike cop31 renewables solar wind floods drought "
            "finance methane coal youth protest record targets pledge forests ocean"
        ),
        accounts=[
            ("ClimateDeskNews", "Climate Desk News"), ("FridaysFutureHQ", "Fridays For Future HQ"),
            ("COP31Watch", "COP31 Watch"), ("ClimateSciX", "Climate Science Explained"),
            ("SeaLevelLab", "Sea Level Lab"), ("EcoReporterAna", "Ana · eco reporter"),
            ("RenewablesDaily", "Renewables Daily"), ("PolarWatch", "Polar Watch 🧊"),
            ("JovenesXClima", "Jóvenes por el Clima"), ("KlimaTicker", "Klima-Ticker"),
        ],
        bios=[
            "Climate scientist. Views my own.", "Organizer with Fridays For Future 🌍",
            "Covering energy and climate.", "Plant-based, bike-powered, hopeful.",
            "Renewables nerd ⚡ Heat pumps are the answer.", "Teacher. Gardener. Worried.",
            "Periodista ambiental 🌱", "Klimaaktivistin aus Berlin", "",
        ],
        alt=[
            "Protesters holding a banner that reads 'There is no planet B'",
            "Chart of global temperature anomaly rising since 1880",
            "Aerial photo of a flooded town", "Solar panels on a school roof",
            "Smoke from a wildfire over a hillside at sunset",
            "Students marching with handmade signs",
        ],
    ),
    "music": _Topic(
        hashtags=(
            "kpop BTS KPOP BLACKPINK Kpop StrayKids NewJeans SEVENTEEN TWICE aespa ENHYPEN IVE "
            "bts LE_SSERAFIM ATEEZ TXT blackpink NCT ARMY BLINK MAMA2026 KpopComeback "
            "straykids 방탄소년단 블랙핑크 스트레이키즈 JUNGKOOK JIMIN LISA JENNIE ROSÉ "
            "BTS_COMEBACK kpopfyp KpopTwitter MusicBank Inkigayo MCOUNTDOWN ILLIT BABYMONSTER "
            "ZEROBASEONE RIIZE KISSOFLIFE comeback COMEBACK Comeback seventeen twice aespa_MV "
            "케이팝 KPOPSTAN"
        ),
        lang_tags={
            "es": "KpopEnEspañol ARMYLatam",
            "fr": "KpopFrance",
            "de": "KpopDeutschland",
            "pt": "KpopBrasil ARMYBrasil",
            "ja": "ケーポップ カムバック",
            "ar": "كيبوب",
            "ko": "컴백 음방 팬미팅",
        },
        langs=[("en", 35), ("ko", 20), ("ja", 10), ("es", 12), ("pt", 8), ("fr", 3),
               ("ar", 2), ("de", 1), ("und", 9)],
        phrases={
            "en": [
                "The comeback MV just dropped and I'm not okay",
                "Streaming party starts in 10 minutes, who's in?",
                "This choreography is insane, the formation change at 2:14!!",
                "Vote now! Voting closes at midnight KST.",
                "They just won their first music show trophy for this song!",
                "Tour dates announced, ticket sale opens Friday.",
                "The live vocals today were perfect.",
                "Chart update: #1 on the global chart for the third week!",
                "Teaser photos are out, the concept is everything",
            ],
            "es": [
                "¡Ya salió el MV del comeback y no estoy bien!",
                "¡A votar! Las votaciones cierran a medianoche.",
                "Nuevo récord en Spotify para el grupo.",
                "Las fechas de la gira ya están aquí, ¿quién va?",
                "La coreografía de hoy fue impresionante.",
            ],
            "fr": [
                "Le MV du comeback est sorti, je suis pas prête",
                "Votez ! Fin des votes à minuit.",
                "Les dates de la tournée en Europe sont tombées !",
                "Ce live était parfait.",
            ],
            "de": [
                "Das neue MV ist da und ich bin nicht bereit",
                "Jetzt abstimmen! Voting endet um Mitternacht.",
                "Tourdaten für Europa sind raus!",
            ],
            "pt": [
                "O MV do comeback saiu e eu não estou bem",
                "Votem! A votação fecha à meia-noite.",
                "Datas da turnê no Brasil anunciadas!",
                "Que performance incrível hoje.",
            ],
            "ja": [
                "カムバックMV公開！最高すぎる",
                "投票は今日の深夜まで！",
                "ワールドツアーの日程が発表されました。",
                "今日のステージ本当に最高だった。",
                "音楽番組で1位おめでとう！",
            ],
            "ar": [
                "الفيديو الجديد نزل وأنا مو طبيعية",
                "صوتوا الآن! التصويت ينتهي منتصف الليل.",
                "مبروك المركز الأول!",
            ],
            "ko": [
                "컴백 뮤비 공개됐다 미쳤다",
                "오늘 음방 1위 축하해!",
                "투표 마감은 오늘 자정까지!",
                "월드투어 일정 공개!",
                "오늘 라이브 진짜 완벽했어",
                "스밍 열심히 하자!",
            ],
        },
        emoji="💜 😭 ✨ 🔥 💖 🎶 🎤 👑 💙 🥺 🫶 😍 🐰 🐻 💚",
        domains=(
            "youtube.com youtu.be open.spotify.com weverse.io instagram.com tiktok.com "
            "soompi.com allkpop.com koreaherald.com billboard.com bit.ly melon.com "
            "music.apple.com koreajoongangdaily.joins.com kprofiles.com twitch.tv"
        ),
        sections="news music charts video article watch track",
        words=(
            "comeback teaser mv chart tour concert album stage vote award debut fanmeeting "
            "dance live trophy streaming"
        ),
        accounts=[
            ("KpopChartsDaily", "K-pop Charts Daily"), ("ComebackAlerts", "Comeback Alerts 🔔"),
            ("ChartKingdomKR", "Chart Kingdom"), ("StanUpdatesKR", "stan updates 💜"),
            ("MusicShowWins", "Music Show Wins"), ("KpopTranslate", "kpop translations"),
            ("TourAlertsKpop", "K-pop Tour Alerts"), ("fancam_daily", "daily fancams"),
        ],
        bios=[
            "ARMY 💜 since 2015", "multistan | fan account", "BLINK 🖤💗",
            "streaming is free, do it 🎶", "fan account, not affiliated", "she/her · 20",
            "스트레이키즈 덕질계", "fan de la k-pop 🇲🇽", "",
        ],
        alt=[
            "Group photo from the comeback teaser, members in white suits",
            "Screenshot of the music chart showing the song at number 1",
            "Concert stage lit in purple with a crowd holding lightsticks",
            "Album cover with pastel colours",
            "Fan-made edit of the MV", "",
        ],
        media_share=1.2,
    ),
    "news": _Topic(
        hashtags=(
            "BreakingNews news Breaking Midterms2026 BREAKING breakingnews Election2026 "
            "economy inflation SupremeCourt AI NEWS Ukraine StockMarket Congress WorldNews "
            "Elections Fed Tariffs Politics politics Weather Hurricane Earthquake Tech "
            "HealthNews Space NASA Crypto Bitcoin ClimateChange Gaza Midterms MIDTERMS "
            "VoteToday ElectionDay Senate jobsreport OilPrices Markets LIVE live Breaking_News"
        ),
        lang_tags={
            "es": "ÚltimaHora Noticias Elecciones",
            "fr": "Info DernièreMinute",
            "de": "Eilmeldung Nachrichten",
            "pt": "Urgente Notícias",
            "ja": "速報 ニュース",
            "ar": "عاجل أخبار",
            "ko": "속보 뉴스",
        },
        langs=[("en", 50), ("es", 10), ("fr", 8), ("de", 8), ("pt", 6), ("ar", 6),
               ("ja", 4), ("ko", 2), ("und", 6)],
        phrases={
            "en": [
                "Polls have closed in several states, results expected within hours.",
                "Officials confirm the measure passed late last night.",
                "Markets fell sharply after the latest inflation figures.",
                "Live updates: what we know so far.",
                "The Supreme Court will hear the case next month.",
                "Storm warnings issued for the coast as the system strengthens.",
                "Here's what the new rules mean for you.",
                "Turnout in the midterms is on track to be the highest in decades.",
                "Breaking: a magnitude 6.1 earthquake was reported offshore.",
            ],
            "es": [
                "Última hora: cierran las urnas en varios estados.",
                "Esto es lo que sabemos hasta ahora.",
                "Los mercados caen tras los nuevos datos de inflación.",
                "El gobierno anuncia nuevas medidas económicas.",
                "Alerta por tormenta en la costa.",
            ],
            "fr": [
                "Dernière minute : les bureaux de vote ferment.",
                "Ce que l'on sait à cette heure.",
                "Les marchés reculent après les chiffres de l'inflation.",
                "Le gouvernement annonce de nouvelles mesures.",
            ],
            "de": [
                "Eilmeldung: Wahllokale in mehreren Staaten geschlossen.",
                "Was wir bisher wissen.",
                "Märkte brechen nach neuen Inflationszahlen ein.",
                "Die Regierung kündigt neue Maßnahmen an.",
            ],
            "pt": [
                "Urgente: urnas fecham em vários estados.",
                "O que se sabe até agora.",
                "Mercados caem após dados de inflação.",
                "Governo anuncia novas medidas.",
            ],
            "ja": [
                "速報：複数の州で投票が締め切られました。",
                "これまでにわかっていること。",
                "インフレ指標の発表を受けて株価が下落。",
                "沿岸部に暴風警報。",
            ],
            "ar": [
                "عاجل: إغلاق صناديق الاقتراع في عدة ولايات.",
                "ما نعرفه حتى الآن.",
                "تراجع الأسواق بعد بيانات التضخم.",
                "الحكومة تعلن إجراءات جديدة.",
            ],
            "ko": [
                "속보: 여러 주에서 투표가 마감됐다.",
                "지금까지 알려진 내용.",
                "물가 지표 발표 후 증시 급락.",
                "정부, 새 대책 발표.",
            ],
        },
        emoji="🚨 📢 ⚠️ 🗳️ 📉 📈 🌀 👇 📰 🔴",
        domains=(
            "reuters.com apnews.com nytimes.com washingtonpost.com cnn.com bbc.com "
            "trib.al npr.org aljazeera.com theguardian.com politico.com bloomberg.com "
            "axios.com wsj.com nbcnews.com youtube.com dlvr.it lemonde.fr elpais.com dw.com "
            "nhk.or.jp yna.co.kr g1.globo.com foxnews.com abcnews.go.com cbsnews.com "
            "thehill.com usatoday.com ft.com economist.com latimes.com"
        ),
        sections="politics world business us markets live-news tech weather",
        words=(
            "election results senate house vote court ruling inflation markets storm "
            "earthquake jobs report tariffs budget turnout governor"
        ),
        accounts=[
            ("BreakingWire", "Breaking Wire 🔴"), ("DailyDispatchUS", "The Daily Dispatch"),
            ("GlobalNewsDesk", "Global News Desk"), ("WireWatcher", "Wire Watcher"),
            ("ElectionNightHQ", "Election Night HQ"), ("MarketsNow", "Markets Now"),
            ("StormTrackerLive", "Storm Tracker"), ("NoticiasYa", "Noticias Ya"),
        ],
        bios=[
            "Breaking news as it happens.", "Reporter. DMs open for tips.",
            "Political junkie. RTs are not endorsements.", "Editor, politics desk.",
            "News, weather and sports.", "Periodista. Opiniones propias.", "",
        ],
        alt=[
            "Map of election results by county", "Line chart of the stock index falling",
            "Satellite image of the storm approaching the coast",
            "Voters queueing outside a polling station", "",
        ],
        media_share=0.7,
        url_share=1.8,
    ),
}
TOPICS: tuple[str, ...] = tuple(TOPIC_DATA)

_EXPANSIONS = {
    "expansions": "author_id,in_reply_to_user_id,referenced_tweets.id,"
    "referenced_tweets.id.author_id,entities.mentions.username,attachments.poll_ids,"
    "attachments.media_keys,geo.place_id",
    "user.fields": "created_at,description,entities,id,location,name,pinned_tweet_id,"
    "profile_image_url,protected,public_metrics,url,username,verified,withheld",
    "tweet.fields": "attachments,author_id,context_annotations,conversation_id,created_at,"
    "edit_history_tweet_ids,entities,geo,id,in_reply_to_user_id,lang,public_metrics,text,"
    "possibly_sensitive,referenced_tweets,reply_settings,source,withheld",
    "media.fields": "alt_text,duration_ms,height,media_key,preview_image_url,type,url,width,"
    "public_metrics",
    "place.fields": "contained_within,country,country_code,full_name,geo,id,name,place_type",
}

# ------------------------------------------------------------------ small helpers

_B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_B64_TO_B62 = bytes.maketrans(b"-_+/", b"aZkQ")
_MASK64 = (1 << 64) - 1
_LCG_A, _LCG_C = 6364136223846793005, 1442695040888963407  # Knuth's MMIX constants
# 4096 two-character [A-Za-z0-9] strings: 12 random bits give two characters at once
_PAIRS = [_B62[i % 62] + _B62[i // 62 % 62] for i in range(4096)]


def _code(rng: Random, n: int) -> str:
    """n random [A-Za-z0-9] characters (media file names)."""
    b = rng.getrandbits(6 * n + 6)
    return "".join([_PAIRS[b >> s & 4095] for s in range(0, 6 * n, 12)])[:n]


def _tco(rng: Random) -> str:
    """A t.co link: 13 + 10 characters, as the API's (the hot path: ~1 per tweet)."""
    b = rng.getrandbits(60)
    p = _PAIRS
    return (
        "https://t.co/" + p[b & 4095] + p[b >> 12 & 4095] + p[b >> 24 & 4095]
        + p[b >> 36 & 4095] + p[b >> 48]
    )


def _mix64(x: int) -> int:
    """splitmix64 finalizer: a fixed, portable integer hash (``hash()`` is salted per run)."""
    x = (x + 0x9E3779B97F4A7C15) & _MASK64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK64
    return x ^ (x >> 31)


def _cum(weights: Sequence[float]) -> list[float]:
    out, total = [], 0.0
    for w in weights:
        total += w
        out.append(total)
    return [c / total for c in out]


def _zipf_cum(n: int, s: float) -> list[float]:
    return _cum([1.0 / (k**s) for k in range(1, n + 1)])


def _zipf_sampler(n: int, s: float) -> Callable[[float], int]:
    """Rank in [0, n) from a uniform u, by the closed-form inverse CDF of a continuous
    Zipf (power law) on [1, n+1): O(1) time and memory however large n is."""
    if n <= 1:
        return lambda u: 0
    a = 1.0 - s
    if abs(a) < 1e-9:
        log_top = math.log(n + 1)
        return lambda u: min(n - 1, int(math.exp(u * log_top)) - 1)
    top = (n + 1) ** a - 1.0
    inv = 1.0 / a
    return lambda u: min(n - 1, int((1.0 + u * top) ** inv) - 1)


def _parse_start(start: str) -> int:
    dt = datetime.fromisoformat(start.replace("Z", "+00:00"))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return round(dt.timestamp() * 1000)


_HM = [f"{h:02d}:{m:02d}:" for h in range(24) for m in range(60)]
_SS = [f"{s:02d}.000Z" for s in range(60)]


@lru_cache(maxsize=16384)
def _day_prefix(day: int) -> str:
    t = time.gmtime(day * 86400)
    return f"{t.tm_year:04d}-{t.tm_mon:02d}-{t.tm_mday:02d}T"


def _iso_s(sec: int) -> str:
    """API time format ("2026-11-01T12:00:00.000Z") of a Unix second, by table lookups."""
    day, s = divmod(sec, 86400)
    return _day_prefix(day) + _HM[s // 60] + _SS[s % 60]


def _b62(x: int, n: int) -> str:
    """n characters of [A-Za-z0-9] from the low 6n bits of x."""
    raw = (x & ((1 << 6 * n) - 1)).to_bytes((6 * n + 7) // 8, "little")
    return base64.b64encode(raw).translate(_B64_TO_B62)[:n].decode()


def _lognormal_quantiles(mu: float, sigma: float) -> list[int]:
    """256 evenly spaced quantiles: a lognormal draw is then one table lookup."""
    nd = NormalDist(mu, sigma)
    return [int(math.exp(nd.inv_cdf((i + 0.5) / 256))) for i in range(256)]


_Q_FOLLOWERS = _lognormal_quantiles(5.0, 1.8)
_Q_FOLLOWING = _lognormal_quantiles(5.5, 1.1)
_Q_TWEETS = [q + 1 for q in _lognormal_quantiles(8.0, 1.6)]
_FRAGMENT = getattr(orjson, "Fragment", None)  # orjson >= 3.10
_Q_EXP = [-math.log(1 - (i + 0.5) / 256) for i in range(256)]  # Exponential(1) quantiles


def _query_terms(query: str) -> list[tuple[str, bool]]:
    """The terms a result must contain: (text, is_hashtag). Operators (OR, -x, lang:, is:,
    parentheses) are dropped; a query of only operators gives no terms."""
    terms: list[tuple[str, bool]] = []
    for m in re.finditer(r'"([^"]+)"|(\S+)', query):
        if m.group(1):
            terms.append((m.group(1), False))
            continue
        tok = m.group(2).strip("()")
        if not tok or tok == "OR" or tok.startswith("-") or ":" in tok:
            continue
        if tok.startswith("#") and len(tok) > 1:
            terms.append((tok[1:], True))
        elif tok[0].isalnum():
            terms.append((tok, False))
    return terms


def _place_obj(p: tuple) -> dict:
    name, full, country, cc, lon, lat, _lang = p
    pid = hashlib.blake2b(full.encode(), digest_size=8).hexdigest()
    d = 0.12
    return {
        "full_name": full,
        "name": name,
        "id": pid,
        "country": country,
        "country_code": cc,
        "place_type": "city",
        "geo": {
            "type": "Feature",
            "bbox": [round(lon - d, 4), round(lat - d, 4), round(lon + d, 4), round(lat + d, 4)],
            "properties": {},
        },
    }


_PLACE_OBJS = [_place_obj(p) for p in _PLACES]
_PLACES_BY_LANG: dict[str, list[int]] = {}
for _i, _p in enumerate(_PLACES):
    _PLACES_BY_LANG.setdefault(_p[6], []).append(_i)


def _host(domain: str) -> str:
    return "www." + domain if domain.count(".") == 1 else domain


def _path(domain: str, h: int, p: int, words: list[str], sections: list[str], ym: str) -> str:
    """A plausible page path on a domain, fixed by the hash h."""
    if domain == "youtube.com":
        return "/watch?v=" + _b62(h >> 3, 11)
    if domain == "tiktok.com":
        return f"/@{words[0]}{h % 997}/video/{7_400_000_000_000_000_000 + h % 10**17}"
    if domain == "instagram.com":
        return f"/p/{_b62(h >> 5, 11)}/"
    if domain == "open.spotify.com":
        return "/track/" + _b62(h << 64 | _mix64(h), 22)
    if domain == "twitch.tv":
        return "/" + "".join(words[:2])
    section = sections[(h >> 40) % len(sections)]
    return f"/{section}/{ym}/{'-'.join(words)}-{p}"


# ------------------------------------------------------------------ the generator


class _Gen:
    """State of one generated stream. Produces data tweets newest first."""

    def __init__(
        self,
        n_tweets: int,
        seed: int,
        query: str,
        start: str,
        days: float,
        topic: str,
        first_id: int | None,
        frag: bool = False,
    ) -> None:
        if topic not in TOPIC_DATA:
            raise ValueError(f"unknown topic {topic!r}; choose one of {', '.join(TOPICS)}")
        if n_tweets < 0:
            raise ValueError("n_tweets must be >= 0")
        if not days > 0:
            raise ValueError("days must be > 0")
        self.n = n_tweets
        self.seed = seed
        self.topic = TOPIC_DATA[topic]
        self.topic_no = TOPICS.index(topic)
        self.rng = Random(seed)
        self._subs = {2: Random(0), 3: Random(0)}  # reseeded per pool original, per meme
        self.start_ms = _parse_start(start)
        self.span_ms = int(days * _DAY_MS)
        self.end_ms = self.start_ms + self.span_ms
        self.ym = _iso_s(self.start_ms // 1000)[:7].replace("-", "/")  # "2026/11" in paths
        if n_tweets > self.span_ms * 1000:
            raise ValueError("too many tweets for the time span (over 1000 per millisecond)")
        self.shift = 0
        if first_id is not None:
            lowest = (self.span_ms + _POOL_LOOKBACK_MS + 180_000) << _LOW_BITS
            if first_id <= lowest + _LOW_MASK:
                raise ValueError(f"first_id must be > {lowest + _LOW_MASK} to keep ids positive")
        self.first_id = first_id
        self.terms = _query_terms(query)
        t = self.topic
        # universes scale with the stream so that distinct counts stay realistic
        self.n_users = max(300, n_tweets * 2 // 3)
        self.n_pool = max(60, n_tweets // 25)
        self.n_memes = 40
        # ~40% of tweets by an author not seen before, half of authors seen once, a few
        # very active accounts (the top one ~1-3% of tweets)
        self.author_rank = _zipf_sampler(self.n_users, 0.7)
        self.mention_rank = _zipf_sampler(self.n_users, 1.15)
        self.influencer_rank = _zipf_sampler(min(self.n_users, 2000), 1.05)
        self.pool_rank = _zipf_sampler(self.n_pool, 1.1)
        self.meme_rank = _zipf_sampler(self.n_memes, 1.2)
        self.path_rank = _zipf_sampler(400, 1.1)
        self.tag_cum = _zipf_cum(len(t.hashtags), 1.0)
        self.domain_cum = _zipf_cum(len(t.domains), 1.0)
        self.lang_cum = _cum([w for _, w in t.langs])
        self.source_cum = _cum([w for _, w in _SOURCES])
        self.users: dict[int, tuple] = {}
        self.pool: dict[int, tuple] = {}
        self.memes: dict[int, dict] = {}
        self.links: dict[int, tuple] = {}  # at most len(domains) * 400 entries
        # frag: for writing only. Cached users, originals and media are serialized once and
        # spliced into every page as orjson.Fragment (same bytes, a fraction of the work).
        self.frag = frag and _FRAGMENT is not None
        self.frags: dict[str, Any] = {}
        self._build_time_map()
        self.seed_key = (seed & _MASK64) << 72 | self.topic_no << 64
        self.user_key = _mix64(_mix64(seed & _MASK64) + self.topic_no) & 0xFFFFFFFF00000000

    # -- time: an hourly rate profile (daily cycle, slow growth, one burst), inverted

    def _build_time_map(self) -> None:
        r = self.rng
        nb = max(1, math.ceil(self.span_ms / _HOUR_MS))
        burst = int(r.random() * nb)
        weights, lengths = [], []
        for j in range(nb):  # bucket j covers (end - (j+1)h, end - jh]
            length = min(_HOUR_MS, self.span_ms - j * _HOUR_MS)
            mid = self.end_ms - j * _HOUR_MS - length / 2
            hour = (mid / _HOUR_MS) % 24
            rate = 1.0 + 0.6 * math.cos(2 * math.pi * (hour - 16) / 24)
            rate *= 1.2 - 0.4 * j / nb
            if 0 <= burst - j < 4:
                rate *= (4.0, 3.0, 2.0, 1.5)[burst - j]
            weights.append(rate * length)
            lengths.append(length)
        total = sum(weights)
        self.t_cum = [0.0]
        acc = 0.0
        for w in weights:
            acc += w / total
            self.t_cum.append(acc)
        self.t_cum[-1] = 1.0
        self.t_len = lengths

    # -- derived entities (rebuilt identically on demand)

    def _sub_rng(self, kind: int, idx: int) -> Random:
        # one Random per kind: building an original may build a meme in the middle
        s = self._subs[kind]
        s.seed(self.seed_key | kind << 56 | idx)
        return s

    def user(self, rank: int) -> tuple:
        """(user dict, lang, source) of the user with this popularity rank."""
        hit = self.users.get(rank)
        if hit is not None:
            return hit
        u = self._make_user(rank)
        if rank < _USER_CACHE:
            self.users[rank] = u
            if self.frag:
                self.frags[u[0]["id"]] = _FRAGMENT(orjson.dumps(u[0]))
        return u

    def _make_user(self, rank: int) -> tuple:
        # Derived from three 64-bit hashes of (seed, topic, rank) rather than a reseeded
        # Random: a quarter of the cost, and a third of all tweets bring a new user.
        t = self.topic
        h = _mix64(self.user_key + rank)
        g = (h * _LCG_A + _LCG_C) & _MASK64  # two more 64-bit words, one multiply each
        k = (g * _LCG_A + _LCG_C) & _MASK64
        lang = t.langs[bisect_right(self.lang_cum, (h & 0xFFFF) / 65536)][0]
        nl = lang if lang in _FIRST else "en"
        if rank < len(t.accounts):  # the topic's big accounts post in its main language
            lang = nl = t.langs[0][0]
            username, name = t.accounts[rank]
            followers = int(2_000_000 / (rank + 1) * (0.5 + (g & 0xFF) / 256))
            verified = True
        else:
            a = _HANDLE_A[(h >> 16 & 0xFF) % len(_HANDLE_A)]
            b = _HANDLE_B[(h >> 24 & 0xFF) % len(_HANDLE_B)]
            x = h >> 32 & 0xFF
            head = a + ("_" if x < 77 and b != "_" else "") + b.strip("_")
            if len(head) + len(str(rank)) > 15:  # the API's limit
                head = a
            if x >= 205:
                head = head.capitalize()
            username = f"{head}{rank}"
            first = _FIRST[nl]
            f = first[(h >> 40 & 0xFF) % len(first)]
            x = h >> 56
            if x < 140:
                last = _LAST[nl]
                lst = last[(h >> 48 & 0xFF) % len(last)]
                name = lst + f if nl in ("ja", "ko") else f + " " + lst
            else:
                name = f
            if x & 7 == 0:
                name += " " + t.emoji[(g >> 60) % len(t.emoji)]
            followers = _Q_FOLLOWERS[g & 0xFF]
            if rank < 5000:  # the more active accounts are also the better followed
                followers += int(50_000 / (rank + 1) ** 0.7 * (g >> 24 & 0xFF) / 256)
            verified = (g >> 52 & 0xFF) < 5
        created_ms = (
            self.start_ms - 30 * _DAY_MS - (g >> 32 & 0xFFFFF) * (17 * 365 * _DAY_MS >> 20)
            - (k & 0xFFFFFF)
        )
        if created_ms < 1_356_998_400_000:  # before 2013: sequential-era numeric ids
            uid = 10_000_000 + rank * 4099 + (k >> 24 & 0xFFF)
        else:
            uid = ((created_ms - TWITTER_EPOCH_MS) << _LOW_BITS) | (rank & _LOW_MASK)
        # the current picture was uploaded some time after 2015 (snowflake era)
        img_ms = max(created_ms, 1_420_070_400_000) + (k >> 36 & 0xFFFFF) * 25_000
        img_id = ((img_ms - TWITTER_EPOCH_MS) << _LOW_BITS) | (h & _LOW_MASK)
        u: dict[str, Any] = {
            "id": str(uid),
            "name": name,
            "username": username,
            "created_at": _iso_s(created_ms // 1000),
            "description": t.bios[(k >> 56) % len(t.bios)],
            "verified": verified,
            "protected": False,
            "profile_image_url": f"https://pbs.twimg.com/profile_images/{img_id}/"
            f"{_PAIRS[k & 4095]}{_PAIRS[k >> 12 & 4095]}{_PAIRS[h >> 20 & 4095]}"
            f"{_PAIRS[g >> 40 & 4095]}_normal.jpg",
            "url": "",
            "public_metrics": {
                "followers_count": followers,
                "following_count": _Q_FOLLOWING[g >> 8 & 0xFF],
                "tweet_count": _Q_TWEETS[g >> 16 & 0xFF],
                "listed_count": followers * (k >> 28 & 0xFF) // 25600,
            },
        }
        x = k >> 48 & 0xFF
        if x < 102:
            cands = _PLACES_BY_LANG.get(lang) or range(len(_PLACES))
            u["location"] = _PLACES[cands[x % len(cands)]][1]
        source = _SOURCES[bisect_right(self.source_cum, (h >> 8 & 0xFF) / 256)][0]
        return (u, lang, source)

    def pool_entry(self, rank: int) -> tuple:
        """A popular older tweet (retweeted, quoted or replied to) by its rank.

        Returns (tweet, author, users mentioned, media, rt_text, rt_entities, rt_users,
        retweet_count, rt_entities as written).
        """
        hit = self.pool.get(rank)
        if hit is not None:
            return hit
        e = self._make_pool(rank)
        if rank < _POOL_CACHE:
            if self.frag:  # written again and again: keep it serialized
                self.frags[e[0]["id"]] = _FRAGMENT(orjson.dumps(e[0]))
                for m in e[3]:
                    self.frags[m["media_key"]] = _FRAGMENT(orjson.dumps(m))
                e = (*e[:8], _FRAGMENT(orjson.dumps(e[5])))
            self.pool[rank] = e
        return e

    def _make_pool(self, rank: int) -> tuple:
        r = self._sub_rng(2, rank)
        R = r.random
        author = self.user(self.influencer_rank(R()))
        au = author[0]
        ms = self.start_ms - 1 - int((R() ** 1.5) * _POOL_LOOKBACK_MS)
        tid = (((ms - TWITTER_EPOCH_MS) << _LOW_BITS) | (rank & _LOW_MASK)) + self.shift
        # a few of the most retweeted carry pictures: their media keys recur in the
        # search (steady share of media whatever the seed)
        media_p = 1.0 if rank in (1, 3, 6) else 0.08 * self.topic.media_share
        text, ent, users, media = self._compose(
            r, author[1], tid, au["username"], media_p=media_p, url_p=0.35, tag_p=0.9
        )
        # how many times it was retweeted overall: more than this sample shows
        expected = max(1.0, self.n * P_RETWEET * 0.12 / (rank + 1) ** 1.1)
        rtc = int(expected * (2 + 4 * R())) + int(R() * 5)
        tw: dict[str, Any] = {
            "id": str(tid),
            "text": text,
            "author_id": au["id"],
            "created_at": _iso_s(ms // 1000),
            "lang": author[1],
            "source": author[2],
            "conversation_id": str(tid),
            "public_metrics": {
                "retweet_count": rtc,
                "reply_count": int(rtc * 0.1 * R()),
                "like_count": int(rtc * (1.5 + 4 * R())),
                "quote_count": int(rtc * 0.05 * R()),
                "bookmark_count": int(rtc * 0.2 * R()),
                "impression_count": int(rtc * (40 + 200 * R())),
            },
        }
        if ent:
            tw["entities"] = ent
        if media:
            tw["attachments"] = {"media_keys": [m["media_key"] for m in media]}
        tw["possibly_sensitive"] = R() < 0.02
        tw["reply_settings"] = "everyone"
        tw["edit_history_tweet_ids"] = [str(tid)]
        # the retweet's own view of it: "RT @user: " + text cut at 140 characters
        prefix = f"RT @{au['username']}: "
        full = prefix + text
        cut = len(full)
        if cut > 140:
            full = full[:139] + "…"
            cut = 139
        shift = len(prefix)
        rt_ent: dict[str, list] = {
            "mentions": [
                {"start": 3, "end": 4 + len(au["username"]), "username": au["username"],
                 "id": au["id"]}
            ]
        }
        for key in ("hashtags", "mentions", "urls"):
            for x in ent.get(key, ()):
                if x["end"] + shift <= cut:
                    y = dict(x)
                    y["start"] += shift
                    y["end"] += shift
                    rt_ent.setdefault(key, []).append(y)
        rt_users = [au]
        seen = {au["id"]}
        for x in rt_ent["mentions"]:
            if x["id"] not in seen:
                seen.add(x["id"])
                rt_users.append(next(u for u in users if u["id"] == x["id"]))
        # the last item is what a retweet carries as entities (pool_entry may serialize it)
        return (tw, au, users, media, full, rt_ent, rt_users, rtc, rt_ent)

    def meme(self, rank: int) -> dict:
        """A picture posted again and again by different accounts (same media key)."""
        hit = self.memes.get(rank)
        if hit is None:
            r = self._sub_rng(3, rank)
            ms = self.start_ms - _POOL_LOOKBACK_MS - int(r.random() * 30 * _DAY_MS)
            mid = ((ms - TWITTER_EPOCH_MS) << _LOW_BITS) | rank
            hit = {
                "media_key": f"3_{mid}",
                "type": "photo",
                "url": f"https://pbs.twimg.com/media/{_code(r, 15)}.jpg",
                "width": 1200,
                "height": 1200 if r.random() < 0.5 else 675,
            }
            if r.random() < 0.4:
                hit["alt_text"] = self.topic.alt[int(r.random() * len(self.topic.alt))] or "image"
            self.memes[rank] = hit
            if self.frag:
                self.frags[hit["media_key"]] = _FRAGMENT(orjson.dumps(hit))
        return hit

    # -- text and entities

    def _compose(
        self,
        r: Random,
        lang: str,
        tid: int,
        username: str,
        media_p: float,
        url_p: float,
        tag_p: float,
        reply_to: dict | None = None,
        quote: tuple[str, str] | None = None,
    ) -> tuple[str, dict, list, list]:
        """Text with its entities. Returns (text, entities, mentioned users, media).

        Hot path (every non-retweet): plain string building, offsets tracked by hand.
        """
        R = r.random
        t = self.topic
        ent: dict[str, list] = {}
        users: list[dict] = []
        mentions: list[dict] = []
        if reply_to is None:
            text = ""
        else:
            un = reply_to["username"]
            text = "@" + un + " "
            mentions.append({"start": 0, "end": len(un) + 1, "username": un, "id": reply_to["id"]})
            users.append(reply_to)
            if R() < 0.15:
                m = self.user(self.mention_rank(R()))[0]
                if m["id"] != reply_to["id"]:
                    un = m["username"]
                    s = len(text)
                    text += "@" + un + " "
                    mentions.append({"start": s, "end": s + len(un) + 1, "username": un,
                                     "id": m["id"]})
                    users.append(m)
        # the query's term, then Zipf-drawn topic hashtags (case-insensitively distinct)
        tags: list[str] = []
        lows: list[str] = []
        keyword = ""
        if self.terms and R() < tag_p:
            term, is_tag = self.terms[int(R() * len(self.terms))]
            if is_tag:
                x = R()
                tags.append(term if x < 0.7 else term.upper() if x < 0.8 else term.lower())
                lows.append(term.lower())
            else:
                keyword = term
        x = R()
        if x >= 0.2:
            vocab, vlow, cum = t.hashtags, t.hashtags_low, self.tag_cum
            extra = t.lang_tags.get(lang)
            for _ in range(1 if x < 0.5 else 2 if x < 0.75 else 3 if x < 0.9 else 4):
                if extra is not None and R() < 0.25:
                    tag = extra[int(R() * len(extra))]
                    low = tag.lower()
                else:
                    i = bisect_right(cum, R())
                    tag, low = vocab[i], vlow[i]
                if low not in lows:
                    lows.append(low)
                    tags.append(tag)
        if lang == "und":
            em = t.emoji
            phrase = "".join([em[int(R() * len(em))] for _ in range(1 + int(R() * 4))])
        elif reply_to is not None or (quote is not None and R() < 0.5):
            ph = _REPLY_PHRASES[lang]
            phrase = ph[int(R() * len(ph))]
        else:
            ph = t.phrases[lang]
            phrase = ph[int(R() * len(ph))]
        hashtags: list[dict] = []
        if tags and R() < 0.2:  # a hashtag in front: "#KPOP | ..."
            tag = tags.pop(0)
            s = len(text)
            hashtags.append({"start": s, "end": s + 1 + len(tag), "tag": tag})
            text += "#" + tag + (" | " if R() < 0.5 else " ")
        if keyword and keyword.lower() not in phrase.lower():
            text += (keyword.capitalize() if R() < 0.5 else keyword.upper()) + ": "
        text += phrase
        if lang != "und" and R() < 0.35:
            text += " " + t.emoji[int(R() * len(t.emoji))]
        if reply_to is None and R() < 0.12:
            m = self.user(self.mention_rank(R()))[0]
            if m["username"] == username:  # not oneself: the next account instead
                m = self.user(self.mention_rank(R()))[0]
            un = m["username"]
            text += " via @" if R() < 0.5 else " cc @"
            s = len(text) - 1
            mentions.append({"start": s, "end": s + 1 + len(un), "username": un, "id": m["id"]})
            text += un
            users.append(m)
        if tags:
            parts = [text, "\n\n" if R() < 0.3 else " "]
            s = len(text) + len(parts[1])
            for tag in tags:
                e = s + 1 + len(tag)
                hashtags.append({"start": s, "end": e, "tag": tag})
                parts.append("#" + tag + " ")
                s = e + 1
            text = "".join(parts)[:-1]
        if hashtags:
            ent["hashtags"] = hashtags
        if mentions:
            ent["mentions"] = mentions
        media: list[dict] = []
        want_url = R() < url_p * t.url_share
        want_media = R() < media_p
        if want_url or want_media or quote is not None:
            urls: list[dict] = []
            ent["urls"] = urls
            if want_url:
                urls.append(self._link(r, len(text) + 1))
                text += " " + urls[-1]["url"]
            if quote is not None:
                qu, qid = quote
                tco = _tco(r)
                s = len(text) + 1
                urls.append({"start": s, "end": s + 23, "url": tco,
                             "expanded_url": f"https://twitter.com/{qu}/status/{qid}",
                             "display_url": f"twitter.com/{qu}/statu…"})
                text += " " + tco
            if want_media:
                media = self._media(r, tid)
                tco = _tco(r)
                s = len(text) + 1
                kind = "photo" if media[0]["type"] == "photo" else "video"
                urls.append({
                    "start": s, "end": s + 23, "url": tco,
                    "expanded_url": f"https://twitter.com/{username}/status/{tid}/{kind}/1",
                    "display_url": "pic.twitter.com/" + tco[13:],
                    "media_key": media[0]["media_key"],
                })
                text += " " + tco
        return text, ent, users, media

    def _link(self, r: Random, start: int) -> dict:
        R = r.random
        di = bisect_right(self.domain_cum, R())
        p = self.path_rank(R())
        key = di << 16 | p
        c = self.links.get(key)
        if c is None:
            c = self.links[key] = self._make_link(di, p)
        expanded, display, unwound, title = c
        out = {"start": start, "end": start + 23, "url": _tco(r),
               "expanded_url": expanded, "display_url": display}
        if unwound is not None:  # a shortener: the API unwinds it to the real page
            out["status"] = 200
            out["unwound_url"] = unwound
        elif R() < 0.4:
            out["status"] = 200
            out["title"] = title
            out["unwound_url"] = expanded
        return out

    def _make_link(self, di: int, p: int) -> tuple[str, str, str | None, str]:
        """(expanded, display, unwound or None, title) of the p-th page of a domain."""
        t = self.topic
        domain = t.domains[di]
        h = _mix64(self.user_key ^ (di << 20 | p))
        words = t.words
        slug_words: list[str] = []
        for i in range(8):
            w = words[(h >> (6 * i)) % len(words)]
            if w not in slug_words:
                slug_words.append(w)
            if len(slug_words) == 3 + h % 3:
                break
        title = " ".join(slug_words).capitalize()
        unwound = None
        if domain in _SHORTENERS:
            short = f"{domain}/{_b62(h >> 20, 7)}"
            real = "youtube.com" if domain == "youtu.be" else t.domains[(h >> 48) % len(t.domains)]
            if real in _SHORTENERS:
                real = t.domains[0]
            unwound = "https://" + _host(real) + _path(real, h, p, slug_words, t.sections,
                                                      self.ym)
            return "https://" + short, short, unwound, title
        path = _path(domain, h, p, slug_words, t.sections, self.ym)
        expanded = "https://" + _host(domain) + path
        display = domain + (path if len(path) <= 15 else path[:15] + "…")
        return expanded, display, unwound, title

    def _media(self, r: Random, tid: int) -> list[dict]:
        R = r.random
        if R() < 0.12:  # the same picture, posted again
            return [self.meme(self.meme_rank(R()))]
        x = R()
        kind = "photo" if x < 0.78 else "video" if x < 0.95 else "animated_gif"
        n = 1
        if kind == "photo":
            y = R()
            n = 1 if y < 0.8 else 2 if y < 0.9 else 3 if y < 0.95 else 4
        out = []
        back = (1 + int(R() * 60_000)) << _LOW_BITS  # uploaded up to a minute before
        for i in range(n):
            mid = tid - back - (i << _LOW_BITS)
            w, h = ((1200, 675), (1080, 1350), (2048, 1536), (720, 1280))[int(R() * 4)]
            if kind == "photo":
                m = {"media_key": f"3_{mid}", "type": "photo",
                     "url": f"https://pbs.twimg.com/media/{_code(r, 15)}.jpg",
                     "width": w, "height": h}
                if R() < 0.25:
                    alt = self.topic.alt[int(R() * len(self.topic.alt))]
                    if alt:
                        m["alt_text"] = alt
            elif kind == "video":
                m = {"media_key": f"7_{mid}", "type": "video",
                     "preview_image_url": f"https://pbs.twimg.com/ext_tw_video_thumb/{mid}/pu/"
                     f"img/{_code(r, 16)}.jpg",
                     "width": w, "height": h, "duration_ms": 3000 + int(R() * 140_000),
                     "public_metrics": {"view_count": int(r.lognormvariate(7, 2))}}
            else:
                m = {"media_key": f"16_{mid}", "type": "animated_gif",
                     "preview_image_url": "https://pbs.twimg.com/tweet_video_thumb/"
                     f"{_code(r, 15)}.jpg",
                     "width": 480, "height": 270}
            out.append(m)
        return out

    # -- the stream

    def tweets(self) -> Iterator[tuple[dict, list, list, list, list]]:
        """Yield (tweet, users, tweets, media, places) per data tweet, newest first."""
        rng = self.rng
        R = rng.random
        n = self.n
        t_cum, t_len = self.t_cum, self.t_len
        end_ms = self.end_ms
        lang_cum = self.lang_cum
        user = self.user
        users_cache = self.users
        author_rank = self.author_rank
        pool_entry, pool_rank = self.pool_entry, self.pool_rank
        compose = self._compose
        langs, source_cum = self.topic.langs, self.source_cum
        t_base = [j * _HOUR_MS for j in range(len(t_len))]
        t_slope = [t_len[j] / (t_cum[j + 1] - t_cum[j]) for j in range(len(t_len))]
        p_rt, p_quote, p_reply = P_RETWEET, P_RETWEET + P_QUOTE, P_RETWEET + P_QUOTE + P_REPLY
        share = self.topic.media_share
        qexp = _Q_EXP
        last_ms = None
        last_low = 0
        last_sec = -1
        created = ""
        day_start, day = 1 << 62, ""
        hm, ss = _HM, _SS
        for i in range(n):
            # time: inverse of the rate profile, monotone in i, so ids and times agree
            x = (i + R()) / n
            j = bisect_right(t_cum, x) - 1
            off = t_base[j] + (x - t_cum[j]) * t_slope[j]
            ms = end_ms - int(off) - TWITTER_EPOCH_MS
            if last_ms is not None and ms >= last_ms:
                ms = last_ms
                low = last_low - 1 - int(R() * 32)
                if low < 0:
                    ms -= 1
                    low = rng.getrandbits(_LOW_BITS)
            else:
                low = rng.getrandbits(_LOW_BITS)
            last_ms, last_low = ms, low
            tid = (ms << _LOW_BITS) | low
            if i == 0 and self.first_id is not None:
                self.shift = self.first_id - tid
            tid += self.shift
            sec = (ms + TWITTER_EPOCH_MS) // 1000
            if sec != last_sec:  # _iso_s inlined: times only go back, a day at a time
                last_sec = sec
                if sec < day_start:
                    day_start = sec - sec % 86400
                    day = _day_prefix(day_start // 86400)
                s = sec - day_start
                created = day + hm[s // 60] + ss[s % 60]
            sid = str(tid)
            rank = author_rank(R())
            author = users_cache.get(rank) or user(rank)
            au = author[0]
            source = author[2] if R() < 0.9 else _SOURCES[bisect_right(source_cum, R())][0]
            kind = R()
            if kind < p_rt:
                o = pool_entry(pool_rank(R()))
                otw = o[0]
                tw = {
                    "id": sid,
                    "text": o[4],
                    "author_id": au["id"],
                    "created_at": created,
                    "lang": otw["lang"],
                    "source": source,
                    "conversation_id": sid,
                    "public_metrics": {
                        "retweet_count": o[7], "reply_count": 0, "like_count": 0,
                        "quote_count": 0, "bookmark_count": 0, "impression_count": 0,
                    },
                    "entities": o[8],
                    "referenced_tweets": [{"type": "retweeted", "id": otw["id"]}],
                }
                if "attachments" in otw:
                    tw["attachments"] = otw["attachments"]
                tw["possibly_sensitive"] = otw["possibly_sensitive"]
                tw["reply_settings"] = "everyone"
                tw["edit_history_tweet_ids"] = [sid]
                yield tw, [au, *o[6]], [otw], o[3], []
                continue
            lang = author[1] if R() < 0.85 else langs[bisect_right(lang_cum, R())][0]
            ref = None
            if kind < p_quote:
                ref = pool_entry(pool_rank(R()))
                text, ent, users, media = compose(
                    rng, lang, tid, au["username"], 0.08 * share, 0.05, 0.6,
                    None, (ref[1]["username"], ref[0]["id"]))
                refs = [{"type": "quoted", "id": ref[0]["id"]}]
                conv = sid
            elif kind < p_reply:
                ref = pool_entry(pool_rank(R()))
                text, ent, users, media = compose(
                    rng, lang, tid, au["username"], 0.04 * share, 0.08, 0.5, ref[1])
                refs = [{"type": "replied_to", "id": ref[0]["id"]}]
                conv = ref[0]["conversation_id"]
            else:
                text, ent, users, media = compose(
                    rng, lang, tid, au["username"], 0.15 * share, 0.3, 0.9)
                refs = None
                conv = sid
            rc = 0 if R() < 0.85 else int(qexp[int(R() * 256)] * 6)
            tw = {
                "id": sid,
                "text": text,
                "author_id": au["id"],
                "created_at": created,
                "lang": lang,
                "source": source,
                "conversation_id": conv,
                "public_metrics": {
                    "retweet_count": rc,
                    "reply_count": 0 if R() < 0.8 else int(qexp[int(R() * 256)] * 3),
                    "like_count": 0 if R() < 0.5 else int(qexp[int(R() * 256)] * 12),
                    "quote_count": 0,
                    "bookmark_count": 0,
                    "impression_count": int(qexp[int(R() * 256)] * 150),
                },
            }
            if ent:
                tw["entities"] = ent
            if refs is not None:
                tw["referenced_tweets"] = refs
            if media:
                tw["attachments"] = {"media_keys": [m["media_key"] for m in media]}
            places = []
            if refs is not None and refs[0]["type"] == "replied_to":
                tw["in_reply_to_user_id"] = ref[1]["id"]
            if R() < 0.03:
                cands = _PLACES_BY_LANG.get(lang) or range(len(_PLACES))
                pi = cands[int(R() * len(cands))]
                p = _PLACE_OBJS[pi]
                geo: dict[str, Any] = {"place_id": p["id"]}
                if R() < 0.2:
                    lon, lat = _PLACES[pi][4], _PLACES[pi][5]
                    geo["coordinates"] = {
                        "type": "Point",
                        "coordinates": [round(lon + (R() - 0.5) * 0.1, 5),
                                        round(lat + (R() - 0.5) * 0.1, 5)],
                    }
                tw["geo"] = geo
                places = [p]
            tw["possibly_sensitive"] = R() < 0.01
            x = R()
            tw["reply_settings"] = (
                "everyone" if x < 0.95 else "following" if x < 0.98 else "mentionedUsers"
            )
            tw["edit_history_tweet_ids"] = [sid]
            if ref is None:
                yield tw, [au, *users], [], media, places
            else:
                ousers = [au, ref[1], *users]
                yield tw, ousers, [ref[0]], media + ref[3], places


# ------------------------------------------------------------------ public API


def _twarc_url(query: str, page_size: int) -> str:
    """The request URL twarc records; later pages append ``&next_token=…``."""
    params = dict(_EXPANSIONS)
    params["query"] = query
    params["max_results"] = str(page_size)
    return "https://api.twitter.com/2/tweets/search/recent?" + urlencode(params)


def _token(seed: int, page: int) -> str:
    """Opaque pagination token, fixed by (seed, page); draws nothing from the tweet stream."""
    n = h = _mix64((seed & _MASK64) ^ _mix64(page + 1))
    for _ in range(3):
        h = _mix64(h)
        n = n << 64 | h
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = []
    for _ in range(45):
        n, d = divmod(n, 36)
        out.append(digits[d])
    return "".join(out)


def iter_pages(
    n_tweets: int,
    seed: int = 1,
    *,
    query: str = "#demo",
    page_size: int = 100,
    start: str = DEFAULT_START,
    days: float = 7.0,
    topic: str = "climate",
    first_id: int | None = None,
) -> Iterator[dict]:
    """Yield X API v2 search/recent pages (twarc2 JSONL shape), newest tweets first.

    Tweets fall in [start, start + days]; ids decrease strictly across pages. The last
    page has no ``next_token``. ``first_id`` makes the newest tweet's id exactly that
    value (others keep their gaps). Zero tweets give one page with ``result_count`` 0, as
    the API answers an empty search. The page size only groups the same tweets.
    Pages share objects (a user, a retweeted original) with one another: read-only.
    """
    if page_size < 1:
        raise ValueError("page_size must be >= 1")
    return _pages(_Gen(n_tweets, seed, query, start, days, topic, first_id), seed, query, page_size)


def _pages(gen: _Gen, seed: int, query: str, page_size: int) -> Iterator[dict]:
    n = gen.n
    end_s = gen.end_ms // 1000
    if n == 0:
        yield {
            "meta": {"result_count": 0},
            "__twarc": {"url": _twarc_url(query, page_size), "version": _VERSION,
                        "retrieved_at": _retrieved(end_s, 0)},
        }
        return
    stream = gen.tweets()
    frags = gen.frags if gen.frag else None
    url = _twarc_url(query, page_size)
    done = 0
    page = 0
    token = None
    while done < n:
        k = min(page_size, n - done)
        data = []
        users: dict[str, dict] = {}
        tweets: dict[str, dict] = {}
        media: dict[str, dict] = {}
        places: dict[str, dict] = {}
        for _ in range(k):
            tw, us, ts, ms, ps = next(stream)
            data.append(tw)
            for u in us:
                uid = u["id"]
                if uid not in users:
                    users[uid] = u
            for t in ts:
                tweets.setdefault(t["id"], t)
            if ms:
                for m in ms:
                    media.setdefault(m["media_key"], m)
            if ps:
                places.setdefault(ps[0]["id"], ps[0])
        done += k
        if frags is None:
            includes: dict[str, list] = {"users": list(users.values())}
            if tweets:
                includes["tweets"] = list(tweets.values())
            if media:
                includes["media"] = list(media.values())
        else:
            fget = frags.get
            includes = {"users": [fget(k, v) for k, v in users.items()]}
            if tweets:
                includes["tweets"] = [fget(k, v) for k, v in tweets.items()]
            if media:
                includes["media"] = [fget(k, v) for k, v in media.items()]
        if places:
            includes["places"] = list(places.values())
        meta: dict[str, Any] = {
            "newest_id": data[0]["id"],
            "oldest_id": data[-1]["id"],
            "result_count": k,
        }
        next_token = _token(seed, page) if done < n else None
        if next_token:
            meta["next_token"] = next_token
        yield {
            "data": data,
            "includes": includes,
            "meta": meta,
            "__twarc": {"url": url if token is None else f"{url}&next_token={token}",
                        "version": _VERSION,
                        "retrieved_at": _retrieved(end_s, page)},
        }
        token = next_token
        page += 1


_VERSION = f"dnflow-generate/{__version__}"


def _retrieved(end_s: int, page: int) -> str:
    """twarc's retrieved_at: the end of the window plus one second per page (no clock)."""
    return _iso_s(end_s + 60 + page)[:19] + "+00:00"


def iter_tweet_pool(n_tweets: int, seed: int = 1, **kw: Any) -> Iterator[tuple[dict, dict]]:
    """Yield (tweet, includes) newest first, for a fake API that serves its own pages.

    ``includes`` holds just what that tweet references: ``users`` (author, mentioned,
    referenced authors), ``tweets`` (retweeted/quoted/replied-to original), ``media`` and
    ``places``; every key is always present. Same tweets as :func:`iter_pages` with the
    same arguments (``page_size`` is accepted and ignored). The objects are shared
    between tweets (users, originals): copy before changing them.
    """
    gen, _query, _page_size = _gen_from(n_tweets, seed, kw)
    return _pool(gen)


def _pool(gen: _Gen) -> Iterator[tuple[dict, dict]]:
    for tw, us, ts, ms, ps in gen.tweets():
        seen: set[str] = set()
        users = []
        for u in us:
            if u["id"] not in seen:
                seen.add(u["id"])
                users.append(u)
        mk: set[str] = set()
        media = []
        for m in ms:
            if m["media_key"] not in mk:
                mk.add(m["media_key"])
                media.append(m)
        yield tw, {"users": users, "tweets": list(ts), "media": media, "places": list(ps)}


def write_archive(path: str | Path, n_tweets: int, seed: int = 1, **kw: Any) -> int:
    """Write pages as JSONL (gzip when the name ends in .gz); return the tweets written.

    ``kw`` are :func:`iter_pages`' keywords; the bytes are exactly ``orjson.dumps`` of its
    pages, one per line. Atomic: written to a temporary file beside the target, then
    renamed. Gzip has no file name and mtime 0 in its header, so the bytes depend only on
    the arguments; it is compressed in a second thread (zlib releases the GIL).
    """
    path = Path(path)
    gen, query, page_size = _gen_from(n_tweets, seed, kw, frag=True)
    pages = _pages(gen, seed, query, page_size)
    counted = [0]

    def chunks() -> Iterator[bytes]:
        dumps, opt = orjson.dumps, orjson.OPT_APPEND_NEWLINE
        buf: list[bytes] = []
        for page in pages:
            buf.append(dumps(page, option=opt))
            counted[0] += page["meta"]["result_count"]
            if len(buf) >= 8:
                yield b"".join(buf)
                buf.clear()
        if buf:
            yield b"".join(buf)

    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as raw:
            if path.name.endswith(".gz"):
                _gzip_in_thread(raw, chunks())
            else:
                for chunk in chunks():
                    raw.write(chunk)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return counted[0]


def _gzip_in_thread(raw: BinaryIO, chunks: Iterator[bytes]) -> None:
    """Compress ``chunks`` into ``raw`` on a worker thread, in order (bounded queue)."""
    q: queue.Queue[bytes | None] = queue.Queue(maxsize=8)
    errors: list[BaseException] = []

    def work() -> None:
        try:
            with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0,
                               compresslevel=_GZIP_LEVEL) as gz:
                while (chunk := q.get()) is not None:
                    gz.write(chunk)
        except BaseException as e:  # reported to the caller below
            errors.append(e)
            while q.get() is not None:  # keep the producer from blocking
                pass

    worker = threading.Thread(target=work, name="dnflow-gzip", daemon=True)
    worker.start()
    try:
        for chunk in chunks:
            if errors:
                break
            q.put(chunk)
    finally:
        q.put(None)
        worker.join()
    if errors:
        raise errors[0]


def _gen_from(n_tweets: int, seed: int, kw: dict[str, Any], frag: bool = False) -> tuple:
    """(_Gen, query, page_size) from iter_pages-style keywords; unknown ones are errors."""
    kw = dict(kw)
    page_size = kw.pop("page_size", 100)
    if page_size < 1:
        raise ValueError("page_size must be >= 1")
    query = kw.pop("query", "#demo")
    gen = _Gen(
        n_tweets,
        seed,
        query,
        kw.pop("start", DEFAULT_START),
        kw.pop("days", 7.0),
        kw.pop("topic", "climate"),
        kw.pop("first_id", None),
        frag,
    )
    if kw:
        raise TypeError(f"unexpected arguments: {', '.join(sorted(kw))}")
    return gen, query, page_size


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m dnflow.generate OUT --tweets N --seed S [--topic T] [--query Q]``."""
    ap = argparse.ArgumentParser(prog="python -m dnflow.generate", description=__doc__.split(
        "\n\n")[0])
    ap.add_argument("out", help="output file (.jsonl or .jsonl.gz)")
    ap.add_argument("--tweets", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--topic", choices=TOPICS, default="climate")
    ap.add_argument("--query", default="#demo")
    ap.add_argument("--page-size", type=int, default=100)
    ap.add_argument("--start", default=DEFAULT_START)
    ap.add_argument("--days", type=float, default=7.0)
    a = ap.parse_args(argv)
    t0 = time.perf_counter()
    n = write_archive(a.out, a.tweets, a.seed, topic=a.topic, query=a.query,
                      page_size=a.page_size, start=a.start, days=a.days)
    dt = time.perf_counter() - t0
    print(f"{n} tweets -> {a.out} in {dt:.2f}s ({n / dt if dt else 0:,.0f} tweets/s)",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
