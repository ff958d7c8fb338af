//! The accessibility statement every French public site publishes (loi
//! n° 2005-102 art. 47, RGAA 4.1): its compliance level, what was checked
//! and how, what is known not to comply, and how to ask for help.

use axum::{extract::State, response::Html};
use maud::html;

use super::{MaybeSession, page};
use crate::app::Vault;

/// `GET /accessibilite`.
pub async fn accessibility(State(vault): State<Vault>, MaybeSession(session): MaybeSession) -> Html<String> {
    let operator = &vault.config().operator.name;
    let main = html! {
        h1 { "Accessibilité : partiellement conforme" }
        p { (operator) " s'engage à rendre ce service accessible, conformément à l'article 47 de la loi n° 2005-102 du 11 février 2005. "
            "Cette déclaration s'applique aux pages du " (super::SERVICE) "." }
        h2 { "État de conformité" }
        p { "Ce service est " strong { "partiellement conforme" } " au référentiel général d'amélioration de l'accessibilité (RGAA 4.1) : "
            "il n'a pas encore fait l'objet d'un audit complet des 106 critères par un auditeur indépendant." }
        h2 { "Ce qui est vérifié, à chaque version" }
        ul {
            li { "Chaque page visitée par les parcours de test (demandeur, guichet, bailleur ; connecté ou non ; formulaires en erreur) "
                 "passe l'outil axe-core avec les règles WCAG 2.1 niveaux A et AA, sans aucune non-conformité relevée." }
            li { "Chaque parcours se fait au clavier seul (Tab, Entrée) : chaque lien, bouton et champ est atteint, et l'élément actif est visiblement entouré." }
            li { "Les pages s'affichent sur un écran de 360 pixels de large sans défilement horizontal." }
            li { "Chaque champ a son intitulé ; chaque erreur de formulaire est annoncée et liée à son champ ; "
                 "les liens et boutons disent ce qu'ils font (par exemple « Voir la pièce « Avis d'imposition » »)." }
            li { "Les pages fonctionnent sans JavaScript et sont construites avec le système de design de l'État (DSFR)." }
        }
        h2 { "Contenus non accessibles" }
        ul {
            li { "Les pièces justificatives sont des documents numérisés : leur rendu (PDF d'images) ne contient pas de texte lisible par un lecteur d'écran. "
                 "L'original déposé reste disponible tel quel." }
            li { "Les courriers et feuilles de séparation sont des PDF destinés à l'impression, non balisés." }
        }
        h2 { "Technologies utilisées" }
        p { "HTML5, CSS (système de design de l'État, DSFR)." }
        h2 { "Retour d'information et contact" }
        p { "Si vous n'arrivez pas à accéder à un contenu ou à un service, adressez-vous au guichet qui a enregistré votre demande, "
            "ou à " (operator) ", pour être orienté vers une alternative accessible ou obtenir le contenu sous une autre forme." }
        h2 { "Voies de recours" }
        p { "Si vous avez signalé un défaut d'accessibilité qui vous empêche d'accéder à un contenu ou à un service et n'avez pas obtenu de réponse satisfaisante, "
            "vous pouvez écrire au Défenseur des droits (défenseurdesdroits.fr), contacter son délégué dans votre région, "
            "ou lui écrire gratuitement : Défenseur des droits, Libre réponse 71120, 75342 Paris CEDEX 07." }
    };
    page(&vault, "Accessibilité", session.as_ref(), main)
}
